using Autonomic.Backends.Store;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Autonomic.Backends.Functions;
using Autonomic.Cli;
using Autonomic.Cli.Bench;
using Autonomic.Cli.Commands;
using Autonomic.Core.Abstractions;
using Autonomic.Gateway;
using Autonomic.Integration.Tests.Gateway;
using Microsoft.Extensions.DependencyInjection;

namespace Autonomic.Integration.Tests.Functions;

/// <summary>A real gateway on a free port serving /api/v1/functions over a real function service.</summary>
public sealed class FunctionsApiFixture : IAsyncLifetime
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "autonomic-fn-api-" + Guid.NewGuid().ToString("N"));
    private GatewayHost? host;
    private readonly IStateStore store = GatewayFixture.CreateStore();

    public Uri Address => host!.Address;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await store.MigrateAsync();
        host = await GatewayHost.StartAsync("http://127.0.0.1:0", new GatewayOptions { Auth = global::Autonomic.Gateway.AuthModes.None, LogDirectory = Path.Combine(root, "logs") }, services =>
        {
            services.AddSingleton(store);
            services.AddSingleton<IFaultInjector>(new RecordingFaultInjector());
            services.AddSingleton<IDocumentStore>(new InMemoryDocumentStore(TimeProvider.System));
            services.AddFunctions(new FunctionsOptions
            {
                Directory = Path.Combine(root, "functions"),
                LogDirectory = Path.Combine(root, "logs"),
                TempRoot = Path.Combine(root, "tmp"),
            });
        });
        Http = new HttpClient { BaseAddress = host.Address, Timeout = TimeSpan.FromSeconds(60) };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (host is not null)
        {
            await host.DisposeAsync();
        }

        await store.DisposeAsync();
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }
}

public sealed class FunctionsApiTests(FunctionsApiFixture fx) : IClassFixture<FunctionsApiFixture>
{
    private const string Sleeper = """
        public static class Handler
        {
            public static async Task<JsonNode?> HandleAsync(JsonNode? evt, CancellationToken ct)
            {
                if (evt?["throw"] is not null) { Console.Error.WriteLine("about to fail"); throw new ArgumentException("bad event"); }
                await Task.Delay(evt?["sleep"]?.GetValue<int>() ?? 0);
                return new JsonObject { ["ok"] = true, ["echo"] = evt?.DeepClone() };
            }
        }
        """;

    private Task<HttpResponseMessage> DeployAsync(object body) => fx.Http.PostAsJsonAsync("/api/v1/functions", body);

    private Task<HttpResponseMessage> InvokeAsync(string name, string body, string query = "") =>
        fx.Http.PostAsync($"/api/v1/functions/{name}/invoke{query}", new StringContent(body, Encoding.UTF8, "application/json"));

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();

    [Fact]
    public async Task Deploy_list_get_invoke_and_delete_over_http()
    {
        using var deployed = await DeployAsync(new { name = "api-hello", kind = "csharp", source = Sleeper, timeoutMs = 2000 });
        Assert.Equal(HttpStatusCode.Created, deployed.StatusCode);
        Assert.Equal(1, (await JsonAsync(deployed)).GetProperty("version").GetInt32());

        using var invoked = await InvokeAsync("api-hello", """{"x":1}""");
        Assert.Equal(HttpStatusCode.OK, invoked.StatusCode);
        var result = await JsonAsync(invoked);
        Assert.Equal("succeeded", result.GetProperty("status").GetString());
        Assert.True(result.GetProperty("response").GetProperty("ok").GetBoolean());
        Assert.Equal(1, result.GetProperty("response").GetProperty("echo").GetProperty("x").GetInt32());
        Assert.True(result.GetProperty("cold").GetBoolean());
        Assert.True(result.GetProperty("durationMs").GetDouble() > 0);

        var list = await fx.Http.GetFromJsonAsync<JsonElement>("/api/v1/functions");
        Assert.Contains(list.EnumerateArray(), f => f.GetProperty("name").GetString() == "api-hello");
        var one = await fx.Http.GetFromJsonAsync<JsonElement>("/api/v1/functions/api-hello");
        Assert.Equal(1, one.GetProperty("latest").GetInt32());
        Assert.Equal("csharp", one.GetProperty("versions")[0].GetProperty("kind").GetString());

        using var missingVersion = await InvokeAsync("api-hello", "{}", "?version=7");
        Assert.Equal(HttpStatusCode.NotFound, missingVersion.StatusCode);
        using var badVersion = await InvokeAsync("api-hello", "{}", "?version=x");
        Assert.Equal(HttpStatusCode.BadRequest, badVersion.StatusCode);
        using var badEvent = await InvokeAsync("api-hello", "{not json");
        Assert.Equal(HttpStatusCode.BadRequest, badEvent.StatusCode);

        using var deleted = await fx.Http.DeleteAsync("/api/v1/functions/api-hello");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var gone = await fx.Http.GetAsync("/api/v1/functions/api-hello");
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        using var goneInvoke = await InvokeAsync("api-hello", "{}");
        Assert.Equal(HttpStatusCode.NotFound, goneInvoke.StatusCode);
    }

    [Fact]
    public async Task A_compile_error_is_422_with_the_compiler_diagnostics()
    {
        using var response = await DeployAsync(new { name = "api-broken", kind = "csharp", source = "public static class Handler {\n  public static JsonNode? Handle(JsonNode? e) { return }\n}", fileName = "broken.cs" });

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problem = await JsonAsync(response);
        Assert.Equal("function not deployed", problem.GetProperty("title").GetString());
        Assert.Contains(problem.GetProperty("errors").EnumerateArray(), e => e.GetString()!.StartsWith("broken.cs:2:", StringComparison.Ordinal));
        Assert.Contains("error CS", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"name":"x1","kind":"cobol","source":"x"}""", "kind 'cobol' is unknown")]
    [InlineData("""{"name":"NO","kind":"csharp","source":"x"}""", "name 'NO' is invalid")]
    [InlineData("""{"name":"x2","kind":"exec"}""", "needs a command")]
    [InlineData("""{"name":"x3","kind":"exec","command":["/bin/true"],"timeoutMs":0}""", "timeoutMs must be")]
    public async Task A_malformed_function_is_422_saying_what_is_wrong(string body, string expected)
    {
        using var response = await fx.Http.PostAsync("/api/v1/functions", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains(expected, (await JsonAsync(response)).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_json_is_400()
    {
        using var response = await fx.Http.PostAsync("/api/v1/functions", new StringContent("{", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task A_failing_handler_is_200_failed_and_a_timeout_is_504_then_the_function_recovers()
    {
        using var deployed = await DeployAsync(new { name = "api-sleeper", kind = "csharp", source = Sleeper, timeoutMs = 1500 });
        Assert.Equal(HttpStatusCode.Created, deployed.StatusCode);

        using var failed = await InvokeAsync("api-sleeper", """{"throw":1}""");
        Assert.Equal(HttpStatusCode.OK, failed.StatusCode);
        var failure = await JsonAsync(failed);
        Assert.Equal("failed", failure.GetProperty("status").GetString());
        Assert.Equal("ArgumentException: bad event", failure.GetProperty("error").GetString());
        Assert.Contains(failure.GetProperty("logs").EnumerateArray(), l => l.GetString() == "about to fail");

        using var timedOut = await InvokeAsync("api-sleeper", """{"sleep":30000}""");
        Assert.Equal(HttpStatusCode.GatewayTimeout, timedOut.StatusCode);
        var problem = await JsonAsync(timedOut);
        Assert.Equal("timed_out", problem.GetProperty("invocationStatus").GetString());
        Assert.Contains("1500 ms", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var next = await InvokeAsync("api-sleeper", "{}");
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal("succeeded", (await JsonAsync(next)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_crashing_worker_is_502()
    {
        using var deployed = await DeployAsync(new { name = "api-crash", kind = "exec", command = new[] { "/bin/sh", "-c", "read line; echo dying >&2; exit 3" } });
        Assert.Equal(HttpStatusCode.Created, deployed.StatusCode);

        using var crashed = await InvokeAsync("api-crash", "{}");

        Assert.Equal(HttpStatusCode.BadGateway, crashed.StatusCode);
        var problem = await JsonAsync(crashed);
        Assert.Contains("exit code 3", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Contains(problem.GetProperty("logs").EnumerateArray(), l => l.GetString() == "dying");
    }

    [Fact]
    public async Task The_cli_deploys_invokes_lists_and_removes_the_examples()
    {
        var hello = Path.Combine(FunctionTestBed.Examples, "hello.cs");
        var echo = Path.Combine(FunctionTestBed.Examples, "echo.py");

        var deploy = await RunAsync("fn", "deploy", "cli-hello", hello, "--timeout-ms", "2000");
        Assert.Equal(0, deploy.ExitCode);
        Assert.Contains("deployed cli-hello version 1 (csharp", deploy.Out, StringComparison.Ordinal);
        Assert.Equal(0, (await RunAsync("fn", "deploy", "cli-echo", echo)).ExitCode);

        var invoke = await RunAsync("fn", "invoke", "cli-hello", "--data", """{"name":"Ada"}""");
        Assert.Equal(0, invoke.ExitCode);
        Assert.Contains("\"greeting\":\"Hello, Ada!\"", invoke.Out, StringComparison.Ordinal);
        Assert.Contains("cli-hello v1: succeeded, cold", invoke.Error, StringComparison.Ordinal);
        var warm = await RunAsync("fn", "invoke", "cli-hello", "--data", """{"name":"Bob"}""", "--version", "1");
        Assert.Contains("succeeded, warm", warm.Error, StringComparison.Ordinal);
        var echoed = await RunAsync("fn", "invoke", "cli-echo", "-d", "[1,2]");
        Assert.Contains("{\"echo\":[1,2]}", echoed.Out, StringComparison.Ordinal);

        var ls = await RunAsync("fn", "ls");
        Assert.Equal(0, ls.ExitCode);
        Assert.Contains("cli-hello", ls.Out, StringComparison.Ordinal);
        Assert.Contains("cli-echo", ls.Out, StringComparison.Ordinal);

        Assert.Equal(2, (await RunAsync("fn", "invoke", "cli-hello", "--data", "{oops")).ExitCode);
        Assert.Equal(2, (await RunAsync("fn", "deploy", "cli-x", "/no/such/file.cs")).ExitCode);
        var missing = await RunAsync("fn", "invoke", "cli-nope");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("function not found", missing.Error, StringComparison.Ordinal);

        Assert.Equal(0, (await RunAsync("fn", "rm", "cli-hello")).ExitCode);
        Assert.Equal(1, (await RunAsync("fn", "rm", "cli-hello")).ExitCode);
    }

    [Fact]
    public async Task The_invoke_benchmark_measures_warm_and_cold_directly_and_over_http()
    {
        var rows = await InvokeBenchmark.RunAsync(new InvokeBenchOptions
        {
            WarmInvocations = 5,
            ColdInvocations = 1,
            BaseUrl = fx.Address,
            Kinds = [FunctionKinds.Exec],
        });

        Assert.Equal(["direct/warm", "direct/cold", "http/warm", "http/cold"], rows.Select(r => $"{r.Path}/{r.Mode}"));
        Assert.All(rows, r => Assert.Equal(r.Invocations, r.Succeeded));
        Assert.All(rows, r => Assert.NotNull(r.OverheadMsP50));
        Assert.Contains("| direct | exec | warm | 5/5 |", InvokeBenchmark.ToMarkdown(rows), StringComparison.Ordinal);
    }

    private sealed record Run(int ExitCode, string Out, string Error);

    private async Task<Run> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = CliContext.ForWriters(output, error);
        context = new CliContext { Console = context.Console, Out = output, Error = error, RequestTimeout = TimeSpan.FromSeconds(60) };
        var code = await CliApp.RunAsync([.. args, "--api", fx.Address.ToString()], context);
        return new Run(code, output.ToString(), error.ToString());
    }
}
