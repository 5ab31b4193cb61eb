using System.CommandLine;
using System.Text.Json;
using Autonomic.Cli.Bench;

namespace Autonomic.Integration.Tests.Bench;

/// <summary>A fact that is skipped, saying why, when the Debian peer supervisors are not installed.</summary>
public sealed class BenchPeersInstalledFactAttribute : FactAttribute
{
    public BenchPeersInstalledFactAttribute()
    {
        var missing = new[] { "runit", "supervisord" }
            .Select(BenchCommands.MissingPeer)
            .OfType<string>()
            .ToList();
        if (missing.Count > 0)
        {
            Skip = "peer supervisors not installed: " + string.Join("; ", missing);
        }
    }
}

/// <summary>
/// Timing benchmarks run alone: their services take free ports and are probed every 10 ms, which other tests
/// starting processes in parallel would disturb.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BenchCollection
{
    public const string Name = "bench";
}

[Collection(BenchCollection.Name)]
public class BenchRecoverySmokeTests
{
    [BenchPeersInstalledFact]
    public async Task Recovery_bench_measures_crash_downtime_under_runit_and_supervisord()
    {
        var dir = Directory.CreateTempSubdirectory("bench-smoke-");
        try
        {
            var json = Path.Combine(dir.FullName, "bench.json");
            var md = Path.Combine(dir.FullName, "bench.md");
            var root = new RootCommand("autonomic");
            root.Subcommands.Add(BenchCommands.Create());
            var exit = await root.Parse(
                ["bench", "recovery", "--trials", "1", "--systems", "runit,supervisord", "--faults", "crash",
                 "--json", json, "--md", md]).InvokeAsync();

            Assert.Equal(0, exit);
            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
            Assert.Equal(["runit", "supervisord"], rows.Select(r => r.GetProperty("system").GetString()));
            foreach (var row in rows)
            {
                Assert.Equal("crash", row.GetProperty("fault").GetString());
                Assert.Equal(1, row.GetProperty("trials").GetInt32());
                Assert.Equal(1, row.GetProperty("recovered").GetInt32());
                Assert.InRange(row.GetProperty("downtime_ms_p50").GetDouble(), 0.001, 10_000);
                Assert.InRange(row.GetProperty("cold_start_ms").GetDouble(), 0.001, 30_000);
            }

            var table = await File.ReadAllTextAsync(md);
            Assert.Contains("| runit | crash | 1 | 1 |", table, StringComparison.Ordinal);
            Assert.Contains("| supervisord | crash | 1 | 1 |", table, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The Autonomic row: `autonomic up` as a subprocess, a crash and a hang, tiny sizes.</summary>
    [Fact]
    public async Task Recovery_bench_measures_autonomic_through_crash_and_hang()
    {
        var dir = Directory.CreateTempSubdirectory("bench-smoke-");
        try
        {
            var json = Path.Combine(dir.FullName, "bench.json");
            var root = new RootCommand("autonomic");
            root.Subcommands.Add(BenchCommands.Create());
            var output = new StringWriter();
            var exit = await root.Parse(
                ["bench", "recovery", "--trials", "2", "--systems", "autonomic", "--faults", "crash,hang", "--settle", "0.2", "--json", json])
                .InvokeAsync(new InvocationConfiguration { Output = output, Error = output });

            Assert.True(exit == 0, $"bench recovery exited {exit}:\n{output}");
            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
            Assert.Equal(["crash", "hang"], rows.Select(r => r.GetProperty("fault").GetString()));
            foreach (var row in rows)
            {
                Assert.Equal("autonomic", row.GetProperty("system").GetString());
                Assert.Equal(2, row.GetProperty("recovered").GetInt32());
            }

            // A hang needs three failed liveness probes 500 ms apart before the kill: never instant.
            Assert.InRange(rows[1].GetProperty("downtime_ms_p50").GetDouble(), 900, 8_000);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Unknown_system_is_a_usage_error()
    {
        var root = new RootCommand("autonomic");
        root.Subcommands.Add(BenchCommands.Create());
        var exit = await root.Parse(["bench", "recovery", "--systems", "systemd"]).InvokeAsync();
        Assert.Equal(2, exit);
    }
}
