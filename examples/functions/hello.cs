// A C# function: `autonomic fn deploy hello examples/functions/hello.cs`, then
// `autonomic fn invoke hello --data '{"name":"Ada"}'`  ->  {"greeting":"Hello, Ada!","length":3}
// Compiled at deploy time; System, LINQ, tasks and System.Text.Json(.Nodes) are imported implicitly.
// Whatever it writes to stderr (or stdout) lands in the invocation's logs and in fn-hello.log.
public static class Handler
{
    public static JsonNode? Handle(JsonNode? evt)
    {
        var name = evt?["name"]?.GetValue<string>() ?? "world";
        Console.Error.WriteLine($"greeting {name}");
        return new JsonObject
        {
            ["greeting"] = $"Hello, {name}!",
            ["length"] = name.Length,
        };
    }
}
