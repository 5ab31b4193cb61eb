using System.CommandLine;
using System.Text.Json;
using Autonomic.Cli.Bench;
using Autonomic.Integration.Tests.Traffic;

namespace Autonomic.Integration.Tests.Bench;

public class BenchScalingSmokeTests
{
    /// <summary>All three policies against real replicas through the load balancer, 6 s each, on the repo's NASA excerpt.</summary>
    [Fact]
    public async Task Scaling_bench_runs_every_policy_and_writes_the_rows()
    {
        var dir = Directory.CreateTempSubdirectory("bench-scaling-");
        try
        {
            var json = Path.Combine(dir.FullName, "scaling.json");
            var root = new RootCommand("autonomic");
            root.Subcommands.Add(BenchCommands.Create());
            var exit = await root.Parse(
                ["bench", "scaling", "--minutes", "0.3", "--trace", Repo.Data("nasa-http-1995", "requests_per_minute_excerpt.csv"),
                 "--stretch-rows", "60", "--peak-rps", "150", "--max-replicas", "4", "--json", json]).InvokeAsync();

            Assert.Equal(0, exit);
            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToList();
            Assert.Equal(["fixed_max", "hpa", "predictive"], rows.Select(r => r.GetProperty("policy").GetString()));
            foreach (var row in rows)
            {
                Assert.True(row.GetProperty("requests").GetInt64() > 100, row.ToString());
                Assert.Equal(0, row.GetProperty("failed_by_scale_down").GetInt64());
                Assert.True(row.GetProperty("slo_violation_s").GetDouble() >= 0);
                Assert.True(row.GetProperty("failed_requests").GetInt64() >= 0);
            }

            // fixed_max keeps every replica for the whole run; the others start smaller and pay for less.
            Assert.Equal(4, rows[0].GetProperty("peak_replicas").GetInt32());
            Assert.InRange(rows[0].GetProperty("replica_seconds").GetDouble(), 4 * 5.0, 4 * 12.0);
            Assert.True(rows[1].GetProperty("replica_seconds").GetDouble() < rows[0].GetProperty("replica_seconds").GetDouble());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("--policies", "fixed_max,keda")]
    [InlineData("--minutes", "11")]
    [InlineData("--trace", "/no/such.csv")]
    public async Task Bad_options_are_usage_errors(string option, string value)
    {
        var root = new RootCommand("autonomic");
        root.Subcommands.Add(BenchCommands.Create());
        Assert.Equal(2, await root.Parse(["bench", "scaling", option, value]).InvokeAsync());
    }
}
