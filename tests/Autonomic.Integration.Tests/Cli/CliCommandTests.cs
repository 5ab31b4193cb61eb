using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Autonomic.Cli;
using Autonomic.Cli.Commands;
using Autonomic.Integration.Tests.Gateway;
using Microsoft.Extensions.Time.Testing;

namespace Autonomic.Integration.Tests.Cli;

/// <summary>Runs the CLI in process against a real gateway and captures what it prints.</summary>
public sealed class CliCommandTests(GatewayFixture fx) : IClassFixture<GatewayFixture>
{
    private sealed record Run(int ExitCode, string Out, string Error);

    private async Task<Run> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var context = Context(output, error);
        var code = await CliApp.RunAsync([.. args, "--api", fx.Address.ToString()], context);
        return new Run(code, output.ToString(), error.ToString());
    }

    private static CliContext Context(TextWriter output, TextWriter error, TimeProvider? time = null)
    {
        var plain = CliContext.ForWriters(output, error);
        return new CliContext
        {
            Console = plain.Console,
            Out = output,
            Error = error,
            // Two minutes and five seconds after the seeded instances started.
            Time = time ?? new FakeTimeProvider(GatewayFixture.T0.AddSeconds(125)),
            FollowInterval = TimeSpan.FromMilliseconds(50),
        };
    }

    [Fact]
    public async Task Status_prints_a_table_of_every_instance()
    {
        var run = await RunAsync("status");
        Assert.Equal(0, run.ExitCode);
        foreach (var id in new[] { "web-0", "web-1", "worker-0" })
        {
            Assert.Contains(id, run.Out, StringComparison.Ordinal);
        }

        var web1 = run.Out.Split('\n').Single(l => l.Contains("web-1", StringComparison.Ordinal));
        Assert.Contains("backoff", web1, StringComparison.Ordinal);
        Assert.Contains("exit code 1", web1, StringComparison.Ordinal);
        var web0 = run.Out.Split('\n').Single(l => l.Contains("web-0", StringComparison.Ordinal));
        Assert.Contains("1111", web0, StringComparison.Ordinal);
        Assert.Contains("2m05s", web0, StringComparison.Ordinal);
        Assert.Contains("2/3 instances ready, 1 open incidents", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_json_is_the_api_document()
    {
        var run = await RunAsync("status", "--json");
        Assert.Equal(0, run.ExitCode);
        using var doc = JsonDocument.Parse(run.Out);
        Assert.Equal(2, doc.RootElement.GetProperty("services").GetArrayLength());
    }

    [Fact]
    public async Task Incidents_list_and_show()
    {
        var list = await RunAsync("incidents");
        Assert.Equal(0, list.ExitCode);
        var line = list.Out.Split('\n').Single(l => l.Contains("inc-1", StringComparison.Ordinal));
        Assert.Contains("web/web-1", line, StringComparison.Ordinal);
        Assert.Contains("escalated", line, StringComparison.Ordinal);
        Assert.Contains("120", line, StringComparison.Ordinal);
        Assert.Contains("yes", line, StringComparison.Ordinal);

        var show = await RunAsync("incidents", "show", "inc-1");
        Assert.Equal(0, show.ExitCode);
        Assert.Contains("3 in 60s", show.Out, StringComparison.Ordinal);
        Assert.Contains("lifecycle.budget.escalate", show.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("liveness.failed.restart", show.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Incidents_show_of_an_unknown_id_prints_the_problem()
    {
        var run = await RunAsync("incidents", "show", "inc-nope");
        Assert.Equal(1, run.ExitCode);
        Assert.Equal("error: incident not found: no incident has id 'inc-nope'", run.Error.Trim());
    }

    [Fact]
    public async Task Actions_filter_by_incident()
    {
        var run = await RunAsync("actions", "--incident", "inc-old");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("liveness.failed.restart", run.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("lifecycle.budget.escalate", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_print_the_tail()
    {
        var run = await RunAsync("logs", "web-0", "--lines", "2");
        Assert.Equal(0, run.ExitCode);
        Assert.Equal("web zero line 4\nweb zero line 5\n", run.Out.Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Logs_follow_prints_lines_as_they_are_appended()
    {
        var path = Path.Combine(fx.LogDirectory, "worker-0.log");
        await File.WriteAllTextAsync(path, "first\n");
        using var output = new StringWriter();
        var synced = TextWriter.Synchronized(output);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var run = CliApp.RunAsync(["logs", "worker-0", "--follow", "--api", fx.Address.ToString()], Context(synced, TextWriter.Null, TimeProvider.System), cts.Token);

        await Eventually.WaitAsync(() => Snapshot().Contains("first\n", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the first line");
        await File.AppendAllTextAsync(path, "second\nthird\n");
        await Eventually.WaitAsync(() => Snapshot().Contains("third\n", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the appended lines");
        await cts.CancelAsync();

        Assert.Equal(0, await run);
        Assert.Equal("first\nsecond\nthird\n", Snapshot());

        string Snapshot()
        {
            lock (synced)
            {
                return output.ToString().Replace("\r\n", "\n", StringComparison.Ordinal);
            }
        }
    }

    [Fact]
    public async Task Chaos_posts_the_fault()
    {
        var run = await RunAsync("chaos", "kill", "web/1");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains(("kill", "web/1"), fx.Injector.Calls);
        Assert.Contains("web-1", run.Out, StringComparison.Ordinal);
        Assert.Contains("4242", run.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Chaos_on_an_unknown_target_prints_the_problem()
    {
        var run = await RunAsync("chaos", "cpu", "nope");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("error: unknown target: ", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_control_plane_exits_1_with_a_hint()
    {
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync(["status", "--api", $"http://127.0.0.1:{port}"], Context(output, error));
        Assert.Equal(1, code);
        Assert.Equal($"no control plane is running at http://127.0.0.1:{port} — start one with 'autonomic up' (or 'make demo')", error.ToString().Trim());
        Assert.Equal("", output.ToString());
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("logs")]
    [InlineData("logs", "web-0", "--lines", "0")]
    [InlineData("logs", "../etc")]
    [InlineData("chaos", "explode", "web")]
    [InlineData("status", "--api", "ftp://x")]
    public async Task Usage_errors_exit_2(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync(args, Context(output, error));
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_command_is_named()
    {
        using var error = new StringWriter();
        var code = await CliApp.RunAsync(["frobnicate"], Context(TextWriter.Null, error));
        Assert.Equal(2, code);
        Assert.Equal("error: Unrecognized command or argument 'frobnicate'.\nsee 'autonomic --help'", error.ToString().Trim().Replace("\r\n", "\n", StringComparison.Ordinal));
    }

    [Fact]
    public async Task No_command_shows_the_help_and_exits_2()
    {
        using var output = new StringWriter();
        var code = await CliApp.RunAsync([], Context(output, TextWriter.Null));
        Assert.Equal(2, code);
        Assert.Contains("Usage:", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_exits_0_and_lists_the_commands()
    {
        using var output = new StringWriter();
        var code = await CliApp.RunAsync(["--help"], Context(output, TextWriter.Null));
        Assert.Equal(0, code);
        foreach (var command in new[] { "status", "incidents", "actions", "logs", "chaos" })
        {
            Assert.Contains(command, output.ToString(), StringComparison.Ordinal);
        }
    }
}
