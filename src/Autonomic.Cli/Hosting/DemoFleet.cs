namespace Autonomic.Cli.Hosting;

/// <summary>The demo fleet (examples/demo.yaml), built into the executable so that <c>autonomic up --demo</c> works anywhere.</summary>
public static class DemoFleet
{
    public static string Yaml { get; } = Load();

    private static string Load()
    {
        using var stream = typeof(DemoFleet).Assembly.GetManifestResourceStream("demo.yaml")
            ?? throw new InvalidOperationException("the built-in demo fleet is missing from this build");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
