using Autonomic.Agents.Fleet;
using Autonomic.Core.Abstractions;
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

/// <summary>
/// Ready instances from the control plane's <see cref="InstanceRegistry"/>: state READY with a port, and not
/// quarantined by the security agent (a quarantined instance keeps running, without traffic) unless every ready
/// instance of the service is.
/// </summary>
public sealed class RegistryBackendSource : IBackendSource
{
    private readonly InstanceRegistry _registry;
    private readonly IQuarantine? _quarantine;

    public RegistryBackendSource(InstanceRegistry registry, IQuarantine? quarantine = null)
    {
        _registry = registry;
        _quarantine = quarantine;
        registry.Changed += _ => Changed?.Invoke();
        if (quarantine is not null)
        {
            quarantine.Changed += () => Changed?.Invoke();
        }
    }

    public event Action? Changed;

    public IReadOnlyList<Backend> Ready(string service)
    {
        Backend[] ready = _registry.Snapshot()
            .Where(i => i.Record.Service == service && i.Record.State == InstanceState.Ready && i.Record.Port is not null)
            .Select(i => new Backend(i.Record.Id, new Uri($"http://127.0.0.1:{i.Record.Port}/")))
            .ToArray();
        if (_quarantine is null)
        {
            return ready;
        }

        // A quarantine never takes a service's last ready instances out: losing every replica to a (possibly
        // log-injected) quarantine would be the outage an attacker wants. The record and alert stand regardless.
        Backend[] clean = ready.Where(b => !_quarantine.IsQuarantined(b.InstanceId)).ToArray();
        return clean.Length > 0 ? clean : ready;
    }
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
