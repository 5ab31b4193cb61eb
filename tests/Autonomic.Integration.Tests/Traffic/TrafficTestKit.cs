using Autonomic.Core.Specs;
using Autonomic.Integration.Tests.Workloads;
using Autonomic.Traffic;

namespace Autonomic.Integration.Tests.Traffic;

/// <summary>Real workload replicas behind a real YARP load balancer on free loopback ports.</summary>
internal sealed class LoadBalancedService : IAsyncDisposable
{
    public const string Name = "web";

    private LoadBalancedService(LoadBalancerHost host, ManualBackendSource source, List<(string Id, WorkloadProcess Process)> replicas, TrafficMetrics metrics)
    {
        Host = host;
        Source = source;
        Replicas = replicas;
        Metrics = metrics;
    }

    public LoadBalancerHost Host { get; }

    public ManualBackendSource Source { get; }

    public TrafficMetrics Metrics { get; }

    public List<(string Id, WorkloadProcess Process)> Replicas { get; }

    public ServiceLoadBalancer Balancer => Host[Name]!;

    public Uri Url(string path) => new(Balancer.Address, path);

    public static async Task<LoadBalancedService> StartAsync(
        int replicas, LoadBalancerSpec? lb = null, string[]? workloadArgs = null, Autonomic.Core.Abstractions.IEventBus? bus = null)
    {
        var started = await Task.WhenAll(Enumerable.Range(0, replicas).Select(async i =>
        {
            string id = $"{Name}-{i}";
            var process = await WorkloadProcess.StartAsync(["--port", "0", .. workloadArgs ?? []], new Dictionary<string, string> { ["AUTONOMIC_INSTANCE"] = id });
            return (id, process);
        }));
        var source = new ManualBackendSource();
        var metrics = new TrafficMetrics();
        var spec = new ServiceSpec
        {
            Name = Name,
            Command = "autonomic-workload",
            Health = new HealthChecks { Readiness = new ProbeSpec { Path = "/readyz" } },
            LoadBalancer = lb ?? new LoadBalancerSpec { Port = 1 },
        };
        var host = new LoadBalancerHost(source, metrics, TimeProvider.System, bus);
        await host.StartAsync([spec], portOverride: 0);
        var service = new LoadBalancedService(host, source, [.. started], metrics);
        service.Publish();
        return service;
    }

    /// <summary>Tells the load balancer that the listed replicas (default: all) are the ready ones.</summary>
    public void Publish(IEnumerable<string>? ids = null)
    {
        var wanted = (ids ?? Replicas.Select(r => r.Id)).ToHashSet(StringComparer.Ordinal);
        Source.Set(Name, Replicas.Where(r => wanted.Contains(r.Id)).Select(r => new Backend(r.Id, r.Process.BaseAddress)).ToArray());
    }

    public WorkloadProcess Replica(string id) => Replicas.Single(r => r.Id == id).Process;

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        foreach (var (_, process) in Replicas)
        {
            await process.DisposeAsync();
        }
    }
}

/// <summary>The repository root (for tests/data).</summary>
internal static class Repo
{
    public static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Autonomic.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("no Autonomic.sln above " + AppContext.BaseDirectory);
    }

    public static string Data(params string[] parts) => Path.Combine([Root(), "tests", "data", .. parts]);
}
