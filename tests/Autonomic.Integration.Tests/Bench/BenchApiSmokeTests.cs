using System.CommandLine;
using System.Text.Json;
using Autonomic.Cli.Bench;

namespace Autonomic.Integration.Tests.Bench;

public class BenchApiSmokeTests
{
    /// <summary>A real child <c>autonomic up</c> and a real Kestrel peer, one second per read endpoint, a C# function invoked 20 times warm and twice cold.</summary>
    [Fact]
    public async Task Api_bench_measures_reads_against_the_peer_and_warm_and_cold_invocations()
    {
        var dir = Directory.CreateTempSubdirectory("bench-api-");
        try
        {
            var json = Path.Combine(dir.FullName, "api.json");
            var md = Path.Combine(dir.FullName, "api.md");
            var root = new RootCommand("autonomic");
            root.Subcommands.Add(BenchCommands.Create());
            var exit = await root.Parse(["bench", "api", "--seconds", "1", "--connections", "8", "--warm", "20", "--cold", "2", "--json", json, "--md", md]).InvokeAsync();

            Assert.Equal(0, exit);
            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(json));
            var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToDictionary(r => r.GetProperty("case").GetString()!);
            Assert.Equal(["read", "read_instances", "read_healthz", "invoke_warm", "invoke_cold"], rows.Keys);
            foreach (var row in rows.Values)
            {
                Assert.True(row.GetProperty("requests_per_s").GetDouble() > 0, row.ToString());
                var p50 = row.GetProperty("latency_ms_p50").GetDouble();
                Assert.True(p50 > 0 && p50 <= row.GetProperty("latency_ms_p99").GetDouble(), row.ToString());
                Assert.Equal(0, row.GetProperty("errors").GetInt64());
            }

            Assert.Equal("GET /api/v1/info", rows["read"].GetProperty("endpoint").GetString());
            Assert.True(rows["read"].GetProperty("peer_requests_per_s").GetDouble() > 0);
            Assert.True(rows["read"].GetProperty("ratio_to_peer").GetDouble() > 0);
            Assert.Equal(20, rows["invoke_warm"].GetProperty("requests").GetInt64());
            Assert.Equal(2, rows["invoke_cold"].GetProperty("requests").GetInt64());
            var overhead = doc.RootElement.GetProperty("invoke_overhead_ms_p50").GetDouble();
            Assert.InRange(overhead, 0, rows["invoke_warm"].GetProperty("latency_ms_p50").GetDouble());
            // A cold invocation starts a worker process, so it is slower than a warm one.
            Assert.True(rows["invoke_cold"].GetProperty("latency_ms_p50").GetDouble() > rows["invoke_warm"].GetProperty("latency_ms_p50").GetDouble());
            Assert.Contains("| read | `GET /api/v1/info` |", await File.ReadAllTextAsync(md), StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Api_bench_rejects_bad_sizes_with_exit_code_2()
    {
        var root = new RootCommand("autonomic");
        root.Subcommands.Add(BenchCommands.Create());
        Assert.Equal(2, await root.Parse(["bench", "api", "--seconds", "0"]).InvokeAsync());
        Assert.Equal(2, await root.Parse(["bench", "api", "--kind", "cobol"]).InvokeAsync());
    }
}
