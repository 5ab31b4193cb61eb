using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;

namespace Autonomic.Integration.Tests.Gateway;


/// <summary>A store whose every call fails, as a broken database would: the gateway must answer 503, not 500.</summary>
internal sealed class FailingStateStore : IStateStore
{
    private static Exception Broken() => new IOException("database is locked");

    public Task MigrateAsync(CancellationToken cancellationToken = default) => throw Broken();
    public Task SaveServiceAsync(ServiceSpec spec, CancellationToken cancellationToken = default) => throw Broken();
    public Task<IReadOnlyList<ServiceSpec>> ListServicesAsync(CancellationToken cancellationToken = default) => throw Broken();
    public Task<bool> DeleteServiceAsync(string name, CancellationToken cancellationToken = default) => throw Broken();
    public Task<bool> UpsertInstanceAsync(InstanceRecord instance, CancellationToken cancellationToken = default) => throw Broken();
    public Task<IReadOnlyList<InstanceRecord>> ListInstancesAsync(CancellationToken cancellationToken = default) => throw Broken();
    public Task<bool> DeleteInstanceAsync(string id, long? fence = null, CancellationToken cancellationToken = default) => throw Broken();
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
