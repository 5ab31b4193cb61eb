using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Autonomic.Backends.Bus;
using Autonomic.Cli.Load;
using Autonomic.Core.Model;
using Autonomic.Core.Scaling;
using Autonomic.Core.Specs;
using Autonomic.Traffic;

namespace Autonomic.Integration.Tests.Traffic;

public sealed partial class LoadBalancerTests
{
    private static HttpClient Client() => new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

    [GeneratedRegex(@"instance=(\S+)")]
    private static partial Regex InstanceInBody();

    [Fact]
    public async Task Requests_are_spread_over_every_replica()
    {
        await using var service = await LoadBalancedService.StartAsync(3);
        using var http = Client();
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < 150; i++)
        {
            using var response = await http.GetAsync(service.Url("/"));
            string body = await response.Content.ReadAsStringAsync();
            Assert.Equal(200, (int)response.StatusCode);
            string instance = InstanceInBody().Match(body).Groups[1].Value;
            // The header the load balancer adds names the same replica that answered.
            Assert.Equal(instance, response.Headers.GetValues(ServiceLoadBalancer.InstanceHeader).Single());
            counts[instance] = counts.GetValueOrDefault(instance) + 1;
        }

        Assert.Equal(["web-0", "web-1", "web-2"], counts.Keys.Order(StringComparer.Ordinal));
        // Power of two choices on sequential requests is close to uniform; a replica with under 10% is starved.
        Assert.All(counts.Values, c => Assert.True(c >= 15, $"shares: {string.Join(", ", counts)}"));
    }

    [Fact]
    public async Task A_replica_that_turns_unready_leaves_the_destinations_within_the_health_check_interval()
    {
        var interval = TimeSpan.FromMilliseconds(500);
        await using var service = await LoadBalancedService.StartAsync(2, new LoadBalancerSpec { Port = 1, HealthInterval = interval });
        using var http = Client();
        await Eventually.WaitAsync(() => service.Balancer.AvailableDestinations.Count == 2, TimeSpan.FromSeconds(5), "two destinations");

        using (var fault = await http.PostAsync(new Uri(service.Replica("web-1").BaseAddress, "/fault/unready"), null))
        {
            Assert.Equal(200, (int)fault.StatusCode);
        }

        var watch = Stopwatch.StartNew();
        await Eventually.WaitAsync(() => !service.Balancer.AvailableDestinations.Contains("web-1"), TimeSpan.FromSeconds(5), "web-1 ejected by the active check");
        // One interval until the next check, plus the check's own time; generous slack for a loaded machine.
        Assert.True(watch.Elapsed < (interval * 2) + TimeSpan.FromMilliseconds(700), $"ejected after {watch.ElapsedMilliseconds} ms");

        for (int i = 0; i < 20; i++)
        {
            using var response = await http.GetAsync(service.Url("/"));
            Assert.Equal("web-0", response.Headers.GetValues(ServiceLoadBalancer.InstanceHeader).Single());
        }
    }

    /// <summary>The key property of draining: an instance removed under constant load costs no request.</summary>
    [Fact]
    public async Task Draining_an_instance_under_constant_load_fails_zero_requests()
    {
        // Each /work holds its replica for about 30 ms, so requests are in flight at the moment of removal.
        await using var service = await LoadBalancedService.StartAsync(3, workloadArgs: ["--work-ms", "1", "--work-wait-ms", "30"]);
        var served = new System.Collections.Concurrent.ConcurrentDictionary<string, int>(StringComparer.Ordinal);
        var sentToRemoved = new System.Collections.Concurrent.ConcurrentQueue<TimeSpan>();
        var failures = new System.Collections.Concurrent.ConcurrentQueue<LoadResult>();
        var generator = new LoadGenerator(new LoadOptions { Target = service.Url("/work"), Timeout = TimeSpan.FromSeconds(5), Window = TimeSpan.FromSeconds(1) })
        {
            OnResult = r =>
            {
                if (r.Outcome != LoadOutcome.Ok)
                {
                    failures.Enqueue(r);
                }
                else if (r.Instance is { } id)
                {
                    served.AddOrUpdate(id, 1, (_, n) => n + 1);
                    if (id == "web-2")
                    {
                        sentToRemoved.Enqueue(r.SentAt);
                    }
                }
            },
        };
        // Started just before the generator's own clock, so a request's SentAt is never later than this watch's reading at its send.
        var watch = Stopwatch.StartNew();
        Task<LoadReport> load = generator.RunAsync(LoadProfile.Constant(120, TimeSpan.FromSeconds(6)));
        await Eventually.WaitAsync(() => served.GetValueOrDefault("web-2") > 20, TimeSpan.FromSeconds(5), "web-2 serving");

        service.Publish(["web-0", "web-1"]);
        TimeSpan removed = watch.Elapsed;
        bool drained = await service.Balancer.DrainAsync("web-2", TimeSpan.FromSeconds(5));
        Assert.True(drained, "web-2 still had requests in flight after 5 s");
        var stopping = service.Replica("web-2");
        stopping.Signal(15);
        Assert.Equal(0, await stopping.WaitForExitAsync(TimeSpan.FromSeconds(5)));

        LoadReport report = await load;
        Assert.True(failures.IsEmpty, "failed: " + string.Join("; ", failures.Take(5)));
        Assert.Equal(report.Summary.Sent, report.Summary.Ok);
        Assert.InRange(report.Summary.Sent, 700, 740);
        Assert.All(sentToRemoved, sentAt => Assert.True(sentAt <= removed, $"web-2 got a request sent at {sentAt} after its removal at {removed}"));
        Assert.True(served.GetValueOrDefault("web-0") > 100 && served.GetValueOrDefault("web-1") > 100, string.Join(", ", served));
    }

    [Fact]
    public async Task A_destination_that_refuses_connections_is_ejected_and_no_GET_fails()
    {
        // Long active interval: only the passive check can eject within this test.
        await using var service = await LoadBalancedService.StartAsync(2, new LoadBalancerSpec { Port = 1, HealthInterval = TimeSpan.FromMinutes(5), PassiveFailures = 3 });
        int dead = TestPorts.Free();
        service.Source.Set(LoadBalancedService.Name,
        [
            .. service.Replicas.Select(r => new Backend(r.Id, r.Process.BaseAddress)),
            new Backend("web-dead", new Uri($"http://127.0.0.1:{dead}/")),
        ]);
        await Eventually.WaitAsync(() => service.Balancer.Destinations.Count == 3, TimeSpan.FromSeconds(5), "three destinations");
        using var http = Client();
        for (int i = 0; i < 60; i++)
        {
            using var response = await http.GetAsync(service.Url("/"));
            // A refused connection is retried once on another destination, so the client never sees it.
            Assert.Equal(200, (int)response.StatusCode);
            Assert.NotEqual("web-dead", response.Headers.GetValues(ServiceLoadBalancer.InstanceHeader).Single());
        }

        Assert.DoesNotContain("web-dead", service.Balancer.AvailableDestinations);
        Assert.Contains("web-dead", service.Balancer.Destinations);
        long retries = service.Balancer.Retries;
        Assert.InRange(retries, 1, 3);
        for (int i = 0; i < 30; i++)
        {
            using var response = await http.GetAsync(service.Url("/"));
            Assert.Equal(200, (int)response.StatusCode);
        }

        Assert.Equal(retries, service.Balancer.Retries);
    }

    [Fact]
    public async Task Metrics_count_exactly_what_was_sent_and_samples_reach_the_bus()
    {
        await using var bus = new InMemoryBus();
        var samples = new System.Collections.Concurrent.ConcurrentQueue<TrafficSample>();
        await using var subscription = bus.Subscribe(EventTypes.TrafficSample, "test", (e, _) =>
        {
            samples.Enqueue(e.Data!.Value.Deserialize<TrafficSample>(JsonDefaults.Options)!);
            return Task.CompletedTask;
        });
        await using var service = await LoadBalancedService.StartAsync(2, bus: bus);
        var report = await new LoadGenerator(new LoadOptions { Target = service.Url("/"), Window = TimeSpan.FromSeconds(1) })
            .RunAsync(LoadProfile.Constant(50, TimeSpan.FromSeconds(3)));
        using var http = Client();
        for (int i = 0; i < 7; i++)
        {
            using var missing = await http.GetAsync(service.Url("/no-such-path"));
            Assert.Equal(404, (int)missing.StatusCode);
        }

        Assert.Equal(150, report.Summary.Sent);
        Assert.Equal(150, report.Summary.Ok);
        var codes = service.Metrics.For(LoadBalancedService.Name).CodesSnapshot();
        Assert.Equal([(200, 150L), (404, 7L)], codes);

        var text = new StringBuilder();
        service.Metrics.WritePrometheus(text);
        string prometheus = text.ToString();
        Assert.Contains("autonomic_lb_requests_total{service=\"web\",code=\"200\"} 150\n", prometheus, StringComparison.Ordinal);
        Assert.Contains("autonomic_lb_requests_total{service=\"web\",code=\"404\"} 7\n", prometheus, StringComparison.Ordinal);
        Assert.Contains("autonomic_lb_request_duration_seconds_count{service=\"web\"} 157\n", prometheus, StringComparison.Ordinal);
        Assert.Contains("autonomic_lb_request_duration_seconds_bucket{service=\"web\",le=\"+Inf\"} 157\n", prometheus, StringComparison.Ordinal);
        Assert.Contains("autonomic_lb_in_flight{service=\"web\"} 0\n", prometheus, StringComparison.Ordinal);

        // Every request lands in exactly one one-second sample: rate × window summed over samples is the count.
        await Eventually.WaitAsync(() => samples.Sum(s => s.RequestsPerSecond) > 0 && samples.Count >= 4, TimeSpan.FromSeconds(5), "samples");
        await Eventually.WaitAsync(() => Math.Abs(samples.Sum(s => s.RequestsPerSecond) - 157) < 157 * 0.1, TimeSpan.FromSeconds(5), "all requests sampled");
        Assert.All(samples, s => Assert.Equal("web", s.Service));
        Assert.Contains(samples, s => s.ReadyReplicas == 2 && s.LatencyMsP95 > 0 && s.ErrorRate == 0);
    }
}
