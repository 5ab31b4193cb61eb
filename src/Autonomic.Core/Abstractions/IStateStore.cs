using Autonomic.Core.Model;
using Autonomic.Core.Specs;

namespace Autonomic.Core.Abstractions;

/// <summary>
/// Durable state: service specs, instances, the append-only event log, incidents and actions.
/// Every write is durable when its task completes.
/// </summary>
public interface IStateStore : IAsyncDisposable
{
    /// <summary>Creates or upgrades the schema.</summary>
    Task MigrateAsync(CancellationToken cancellationToken = default);

    Task SaveServiceAsync(ServiceSpec spec, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<ServiceSpec>> ListServicesAsync(CancellationToken cancellationToken = default);
    /// <summary>Forgets a service's spec; false when none was stored.</summary>
    Task<bool> DeleteServiceAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes the record unless the stored one carries a higher <see cref="InstanceRecord.Fence"/> (a newer lease
    /// holder wrote it): false when refused. The check and the write are one atomic statement.
    /// </summary>
    Task<bool> UpsertInstanceAsync(InstanceRecord instance, CancellationToken cancellationToken = default);
    Task<IReadOnlyList<InstanceRecord>> ListInstancesAsync(CancellationToken cancellationToken = default);
    /// <summary>
    /// Forgets an instance. With <paramref name="fence"/>, only when the stored record's fence is not higher: false
    /// when refused. Without, unconditionally (for instances of services nobody holds).
    /// </summary>
    Task<bool> DeleteInstanceAsync(string id, long? fence = null, CancellationToken cancellationToken = default);

    /// <summary>Appends; an event whose id is already stored is ignored.</summary>
    Task AppendEventAsync(CloudEvent evt, CancellationToken cancellationToken = default);
    /// <summary>The newest <paramref name="limit"/> events, oldest first, optionally only those of one subject.</summary>
    Task<IReadOnlyList<CloudEvent>> ListEventsAsync(int limit, string? subject = null, CancellationToken cancellationToken = default);

    Task UpsertIncidentAsync(Incident incident, CancellationToken cancellationToken = default);
    /// <summary>Newest first.</summary>
    Task<IReadOnlyList<Incident>> ListIncidentsAsync(int limit, CancellationToken cancellationToken = default);
    Task<Incident?> GetIncidentAsync(string id, CancellationToken cancellationToken = default);

    Task UpsertActionAsync(AgentAction action, CancellationToken cancellationToken = default);
    /// <summary>Newest first; optionally only those of one incident.</summary>
    Task<IReadOnlyList<AgentAction>> ListActionsAsync(int limit, string? incidentId = null, CancellationToken cancellationToken = default);
}
