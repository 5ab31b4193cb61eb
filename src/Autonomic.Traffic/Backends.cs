using Autonomic.Agents.Fleet;
using Autonomic.Core.Model;

namespace Autonomic.Traffic;

/// <summary>One instance that can receive a service's traffic: its id and base address.</summary>
public sealed record Backend(string InstanceId, Uri Address);

/// <summary>Where load balancers learn which instances of a service are ready.</summary>
public interface IBackendSource
{
    /// <summary>The ready instances of <paramref name="service"/> now.</summary>
    IReadOnlyList<Backend> Ready(string service);

    /// <summary>Raised when the set may have changed (load balancers also re-read it every second).</summary>
    event Action? Changed;
}

/// <summary>Ready instances from the control plane's <see cref="InstanceRegistry"/>: state READY with a port.</summary>
public sealed class RegistryBackendSource : IBackendSource
{
    private readonly InstanceRegistry _registry;

    public RegistryBackendSource(InstanceRegistry registry)
    {
        _registry = registry;
        registry.Changed += _ => Changed?.Invoke();
    }

    public event Action? Changed;

    public IReadOnlyList<Backend> Ready(string service) =>
        _registry.Snapshot()
            .Where(i => i.Record.Service == service && i.Record.State == InstanceState.Ready && i.Record.Port is not null)
            .Select(i => new Backend(i.Record.Id, new Uri($"http://127.0.0.1:{i.Record.Port}/")))
            .ToArray();
}

/// <summary>Ready instances set by hand: for benchmarks that run their own replicas, and tests.</summary>
public sealed class ManualBackendSource : IBackendSource
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, IReadOnlyList<Backend>> _ready = new(StringComparer.Ordinal);

    public event Action? Changed;

    public void Set(string service, IReadOnlyList<Backend> ready)
    {
        lock (_lock)
        {
            _ready[service] = ready.ToArray();
        }

        Changed?.Invoke();
    }

    public IReadOnlyList<Backend> Ready(string service)
    {
        lock (_lock)
        {
            return _ready.GetValueOrDefault(service) ?? [];
        }
    }
}
