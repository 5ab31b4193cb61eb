using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;

namespace Autonomic.Integration.Tests.Gateway;

/// <summary>
/// TEST-ONLY STAND-IN for the SQLite store, which is written in parallel. It follows the IStateStore contract
/// (ordering, limits, dedupe) so the gateway tests exercise real HTTP against real semantics. Once the SQLite
/// store is merged, <see cref="GatewayFixture.CreateStore"/> switches to it and this file can go.
/// </summary>
internal sealed class InMemoryStateStore : IStateStore
{
    private readonly Lock gate = new();
    private readonly Dictionary<string, ServiceSpec> services = [];
    private readonly Dictionary<string, InstanceRecord> instances = [];
    private readonly List<CloudEvent> events = [];
    private readonly Dictionary<string, Incident> incidents = [];
    private readonly Dictionary<string, AgentAction> actions = [];

    public Task MigrateAsync(CancellationToken cancellationToken = default) => Task.CompletedTask;

    public Task SaveServiceAsync(ServiceSpec spec, CancellationToken cancellationToken = default) => Do(() => services[spec.Name] = spec);

    public Task<IReadOnlyList<ServiceSpec>> ListServicesAsync(CancellationToken cancellationToken = default) =>
        Get<ServiceSpec>(() => [.. services.Values.OrderBy(s => s.Name, StringComparer.Ordinal)]);

    public Task UpsertInstanceAsync(InstanceRecord instance, CancellationToken cancellationToken = default) => Do(() => instances[instance.Id] = instance);

    public Task<IReadOnlyList<InstanceRecord>> ListInstancesAsync(CancellationToken cancellationToken = default) =>
        Get<InstanceRecord>(() => [.. instances.Values.OrderBy(i => i.Id, StringComparer.Ordinal)]);

    public Task DeleteInstanceAsync(string id, CancellationToken cancellationToken = default) => Do(() => instances.Remove(id));

    public Task AppendEventAsync(CloudEvent evt, CancellationToken cancellationToken = default) => Do(() =>
    {
        if (!events.Any(e => e.Id == evt.Id))
        {
            events.Add(evt);
        }
    });

    public Task<IReadOnlyList<CloudEvent>> ListEventsAsync(int limit, string? subject = null, CancellationToken cancellationToken = default) =>
        Get<CloudEvent>(() => [.. events.Where(e => subject is null || e.Subject == subject).TakeLast(limit)]);

    public Task UpsertIncidentAsync(Incident incident, CancellationToken cancellationToken = default) => Do(() => incidents[incident.Id] = incident);

    public Task<IReadOnlyList<Incident>> ListIncidentsAsync(int limit, CancellationToken cancellationToken = default) =>
        Get<Incident>(() => [.. incidents.Values.OrderByDescending(i => i.DetectedAt).Take(limit)]);

    public Task<Incident?> GetIncidentAsync(string id, CancellationToken cancellationToken = default)
    {
        lock (gate)
        {
            return Task.FromResult(incidents.GetValueOrDefault(id));
        }
    }

    public Task UpsertActionAsync(AgentAction action, CancellationToken cancellationToken = default) => Do(() => actions[action.Id] = action);

    public Task<IReadOnlyList<AgentAction>> ListActionsAsync(int limit, string? incidentId = null, CancellationToken cancellationToken = default) =>
        Get<AgentAction>(() => [.. actions.Values.Where(a => incidentId is null || a.IncidentId == incidentId).OrderByDescending(a => a.CreatedAt).Take(limit)]);

    public bool Disposed { get; private set; }

    public ValueTask DisposeAsync()
    {
        Disposed = true;
        return ValueTask.CompletedTask;
    }

    private Task Do(Action write)
    {
        lock (gate)
        {
            write();
        }

        return Task.CompletedTask;
    }

    private Task<IReadOnlyList<T>> Get<T>(Func<List<T>> read)
    {
        lock (gate)
        {
            return Task.FromResult<IReadOnlyList<T>>(read());
        }
    }
}

/// <summary>A store whose every call fails, as a broken database would: the gateway must answer 503, not 500.</summary>
internal sealed class FailingStateStore : IStateStore
{
    private static Exception Broken() => new IOException("database is locked");

    public Task MigrateAsync(CancellationToken cancellationToken = default) => throw Broken();
    public Task SaveServiceAsync(ServiceSpec spec, CancellationToken cancellationToken = default) => throw Broken();
    public Task<IReadOnlyList<ServiceSpec>> ListServicesAsync(CancellationToken cancellationToken = default) => throw Broken();
    public Task UpsertInstanceAsync(InstanceRecord instance, CancellationToken cancellationToken = default) => throw Broken();
    public Task<IReadOnlyList<InstanceRecord>> ListInstancesAsync(CancellationToken cancellationToken = default) => throw Broken();
    public Task DeleteInstanceAsync(string id, CancellationToken cancellationToken = default) => throw Broken();
    public Task AppendEventAsync(CloudEvent evt, CancellationToken cancellationToken = default) => throw Broken();
    public Task<IReadOnlyList<CloudEvent>> ListEventsAsync(int limit, string? subject = null, CancellationToken cancellationToken = default) => throw Broken();
    public Task UpsertIncidentAsync(Incident incident, CancellationToken cancellationToken = default) => throw Broken();
    public Task<IReadOnlyList<Incident>> ListIncidentsAsync(int limit, CancellationToken cancellationToken = default) => throw Broken();
    public Task<Incident?> GetIncidentAsync(string id, CancellationToken cancellationToken = default) => throw Broken();
    public Task UpsertActionAsync(AgentAction action, CancellationToken cancellationToken = default) => throw Broken();
    public Task<IReadOnlyList<AgentAction>> ListActionsAsync(int limit, string? incidentId = null, CancellationToken cancellationToken = default) => throw Broken();
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>Records injections instead of signalling processes; knows the targets of the seeded fleet.</summary>
internal sealed class RecordingFaultInjector : IFaultInjector
{
    private readonly Lock gate = new();
    private readonly List<(string Fault, string Target)> calls = [];

    public IReadOnlyList<(string Fault, string Target)> Calls
    {
        get
        {
            lock (gate)
            {
                return [.. calls];
            }
        }
    }

    public Task<FaultResult> InjectAsync(string fault, string target, CancellationToken cancellationToken = default)
    {
        var instance = target switch
        {
            "web" or "web-0" or "web/0" => "web-0",
            "web-1" or "web/1" => "web-1",
            "worker" or "worker-0" or "worker/0" => "worker-0",
            _ => throw new ArgumentException($"no service or instance '{target}'", nameof(target)),
        };
        lock (gate)
        {
            calls.Add((fault, target));
        }

        return Task.FromResult(new FaultResult(fault, instance, 4242, $"{fault} injected"));
    }
}
