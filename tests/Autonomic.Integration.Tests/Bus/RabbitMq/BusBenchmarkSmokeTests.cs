using Autonomic.Cli.Bench;

namespace Autonomic.Integration.Tests.Bus.RabbitMq;

[Collection(RabbitMqCollection.Name)]
public sealed class BusBenchmarkSmokeTests
{
    [Fact]
    public async Task Bench_bus_measures_both_buses_at_saturation_and_at_a_rate()
    {
        var json = new FileInfo(Path.Combine(Path.GetTempPath(), $"bus-bench-{Guid.NewGuid():N}.json"));
        try
        {
            using StringWriter stdout = new(), stderr = new();
            var options = new BusBenchOptions(["memory", "rabbitmq"], Events: 300, Duration: TimeSpan.FromSeconds(0.3), RabbitMqTestBroker.Url, Rate: 200);

            var exit = await BusBenchmark.RunAsync(options, json, stdout, stderr, CancellationToken.None);

            Assert.True(exit == 0, stderr.ToString());
            var rows = BusBenchmark.FromJson(await File.ReadAllTextAsync(json.FullName));
            Assert.Equal(["memory", "memory", "rabbitmq", "rabbitmq"], rows.Select(r => r.Bus));
            Assert.Equal([null, 200, null, 200], rows.Select(r => r.Rate));
            Assert.All(rows, r =>
            {
                Assert.True(r.EventsPerSecond > 0);
                Assert.NotNull(r.LatencyMsP50);
                Assert.InRange(r.LatencyMsP50!.Value, 0, r.LatencyMsP99!.Value);
            });
            Assert.Contains("| rabbitmq | saturation |", stdout.ToString(), StringComparison.Ordinal);
            Assert.Contains("\"latency_ms_p99\"", await File.ReadAllTextAsync(json.FullName), StringComparison.Ordinal);
        }
        finally
        {
            json.Delete();
        }
    }

    [Fact]
    public async Task Bench_bus_refuses_an_unknown_bus()
    {
        using StringWriter stdout = new(), stderr = new();
        var exit = await BusBenchmark.RunAsync(new BusBenchOptions(["kafka"], 10, TimeSpan.FromSeconds(1), RabbitMqTestBroker.Url), null, stdout, stderr, CancellationToken.None);
        Assert.Equal(2, exit);
        Assert.Contains("unknown bus: kafka", stderr.ToString(), StringComparison.Ordinal);
    }
}
