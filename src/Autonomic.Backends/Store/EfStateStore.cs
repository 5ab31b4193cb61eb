using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;
using Microsoft.EntityFrameworkCore;

namespace Autonomic.Backends.Store;

/// <summary>
/// The provider-independent part of the EF Core state stores: every query, the mapping to rows and the schema
/// upgrade, over the one model of <see cref="AutonomicDbContext"/>. A provider says how to make a context, and may
/// run each operation under its own retry policy and replace the generic upserts with atomic ones. Every
/// operation uses its own short-lived context, so a store is safe for concurrent use.
/// </summary>
public abstract partial class EfStateStore : IStateStore
{
    private const int UpsertAttempts = 3;

    /// <summary>A new context on this store's database; the caller disposes it.</summary>
    protected abstract AutonomicDbContext NewContext();

    /// <summary>Releases the store's connections.</summary>
    public abstract ValueTask DisposeAsync();

    /// <summary>
    /// Runs one whole operation on a fresh context. A provider whose connections can fail transiently overrides
    /// this to run the operation again on a new context; operations are written to be safe to repeat.
    /// </summary>
    protected virtual async Task<T> RunAsync<T>(Func<AutonomicDbContext, Task<T>> operation, CancellationToken cancellationToken)
    {
        var db = NewContext();
        await using (db.ConfigureAwait(false))
        {
            return await operation(db).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public Task MigrateAsync(CancellationToken cancellationToken = default) => UpgradeAsync(cancellationToken);

    /// <summary>Applies the pending migrations, creating the database if it is missing; returns the ids applied, oldest first.</summary>
    public Task<IReadOnlyList<string>> UpgradeAsync(CancellationToken cancellationToken = default) => RunAsync<IReadOnlyList<string>>(async db =>
    {
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken).ConfigureAwait(false)).ToList();
        await db.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
        return pending;
    }, cancellationToken);

    /// <summary>The migrations already applied to the database and those still pending, each oldest first.</summary>
    public Task<MigrationStatus> GetMigrationStatusAsync(CancellationToken cancellationToken = default) => RunAsync(async db =>
    {
        var applied = (await db.Database.GetAppliedMigrationsAsync(cancellationToken).ConfigureAwait(false)).ToList();
        var pending = (await db.Database.GetPendingMigrationsAsync(cancellationToken).ConfigureAwait(false)).ToList();
        return new MigrationStatus(applied, pending);
    }, cancellationToken);

    /// <inheritdoc />
    public Task SaveServiceAsync(ServiceSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return UpsertAsync(StoreMapping.ToRow(spec), spec.Name, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<ServiceSpec>> ListServicesAsync(CancellationToken cancellationToken = default) => RunAsync<IReadOnlyList<ServiceSpec>>(async db =>
    {
        var rows = await db.Services.AsNoTracking().OrderBy(r => r.Name).ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. rows.Select(StoreMapping.ToSpec)];
    }, cancellationToken);

    /// <inheritdoc />
    public Task<bool> DeleteServiceAsync(string name, CancellationToken cancellationToken = default) =>
        RunAsync(async db => await db.Services.Where(r => r.Name == name).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false) > 0, cancellationToken);

    /// <inheritdoc />
    public async Task<bool> UpsertInstanceAsync(InstanceRecord instance, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        var row = StoreMapping.ToRow(instance);
        for (var attempt = 1; ; attempt++)
        {
            // 1 written, 0 refused by the fence, -1 another writer inserted the row meanwhile: try again.
            var outcome = await RunAsync(async db =>
            {
                // The fence check and the write in one UPDATE: no other writer can get between them.
                var updated = await db.Instances.Where(r => r.Id == row.Id && r.Fence <= row.Fence).ExecuteUpdateAsync(set => set
                    .SetProperty(r => r.Service, row.Service)
                    .SetProperty(r => r.Index, row.Index)
                    .SetProperty(r => r.State, row.State)
                    .SetProperty(r => r.Pid, row.Pid)
                    .SetProperty(r => r.StartTicks, row.StartTicks)
                    .SetProperty(r => r.Port, row.Port)
                    .SetProperty(r => r.StartedAt, row.StartedAt)
                    .SetProperty(r => r.ReadySince, row.ReadySince)
                    .SetProperty(r => r.Restarts, row.Restarts)
                    .SetProperty(r => r.Reason, row.Reason)
                    .SetProperty(r => r.UpdatedAt, row.UpdatedAt)
                    .SetProperty(r => r.Fence, row.Fence), cancellationToken).ConfigureAwait(false);
                if (updated > 0)
                {
                    return 1;
                }

                // Not updated: refused if a higher fence is stored; if the row appeared since the UPDATE (another
                // writer inserted it), update again; if there is none, insert.
                var stored = await db.Instances.Where(r => r.Id == row.Id).Select(r => (long?)r.Fence).FirstOrDefaultAsync(cancellationToken).ConfigureAwait(false);
                if (stored is { } fence)
                {
                    return fence > row.Fence ? 0 : -1;
                }

                db.Instances.Add(row);
                try
                {
                    await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                    return 1;
                }
                catch (DbUpdateException) when (attempt < UpsertAttempts)
                {
                    return -1;
                }
            }, cancellationToken).ConfigureAwait(false);
            if (outcome >= 0)
            {
                return outcome == 1;
            }
        }
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<InstanceRecord>> ListInstancesAsync(CancellationToken cancellationToken = default) => RunAsync<IReadOnlyList<InstanceRecord>>(async db =>
    {
        var rows = await db.Instances.AsNoTracking().OrderBy(r => r.Service).ThenBy(r => r.Index).ThenBy(r => r.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. rows.Select(StoreMapping.ToRecord)];
    }, cancellationToken);

    /// <inheritdoc />
    public Task<bool> DeleteInstanceAsync(string id, long? fence = null, CancellationToken cancellationToken = default) => RunAsync(async db =>
    {
        var rows = fence is { } f ? db.Instances.Where(r => r.Id == id && r.Fence <= f) : db.Instances.Where(r => r.Id == id);
        return await rows.ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false) > 0
            || !await db.Instances.AnyAsync(r => r.Id == id, cancellationToken).ConfigureAwait(false);
    }, cancellationToken);

    /// <inheritdoc />
    public Task AppendEventAsync(CloudEvent evt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evt);
        return InsertEventAsync(StoreMapping.ToRow(evt), cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<CloudEvent>> ListEventsAsync(int limit, string? subject = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return RunAsync<IReadOnlyList<CloudEvent>>(async db =>
        {
            var query = db.Events.AsNoTracking();
            if (subject is not null)
            {
                query = query.Where(r => r.Subject == subject);
            }

            var newest = await query.OrderByDescending(r => r.Time).ThenByDescending(r => r.Seq).Take(limit)
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            newest.Reverse();
            return [.. newest.Select(StoreMapping.ToEvent)];
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task UpsertIncidentAsync(Incident incident, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(incident);
        return UpsertAsync(StoreMapping.ToRow(incident), incident.Id, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<Incident>> ListIncidentsAsync(int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return RunAsync<IReadOnlyList<Incident>>(async db =>
        {
            var rows = await db.Incidents.AsNoTracking().OrderByDescending(r => r.DetectedAt).ThenByDescending(r => r.Id).Take(limit)
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            return [.. rows.Select(StoreMapping.ToIncident)];
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<Incident?> GetIncidentAsync(string id, CancellationToken cancellationToken = default) => RunAsync(async db =>
    {
        var row = await db.Incidents.AsNoTracking().FirstOrDefaultAsync(r => r.Id == id, cancellationToken).ConfigureAwait(false);
        return row is null ? null : StoreMapping.ToIncident(row);
    }, cancellationToken);

    /// <inheritdoc />
    public Task UpsertActionAsync(AgentAction action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(action);
        return UpsertAsync(StoreMapping.ToRow(action), action.Id, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<AgentAction>> ListActionsAsync(int limit, string? incidentId = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return RunAsync<IReadOnlyList<AgentAction>>(async db =>
        {
            var query = db.Actions.AsNoTracking();
            if (incidentId is not null)
            {
                query = query.Where(r => r.IncidentId == incidentId);
            }

            var rows = await query.OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id).Take(limit)
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            return [.. rows.Select(StoreMapping.ToAction)];
        }, cancellationToken);
    }

    /// <summary>
    /// Inserts the event unless one with its id is stored. This generic form checks, inserts, and on a unique-key
    /// failure confirms that a concurrent append of the same id won; a provider may replace it with an atomic insert.
    /// </summary>
    protected virtual Task InsertEventAsync(EventRow row, CancellationToken cancellationToken) => RunAsync(async db =>
    {
        if (await db.Events.AnyAsync(r => r.Id == row.Id, cancellationToken).ConfigureAwait(false))
        {
            return true;
        }

        db.Events.Add(row);
        try
        {
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbUpdateException)
        {
            // A concurrent append of the same id won the race; that is the duplicate we ignore.
            var check = NewContext();
            await using (check.ConfigureAwait(false))
            {
                if (!await check.Events.AnyAsync(r => r.Id == row.Id, cancellationToken).ConfigureAwait(false))
                {
                    throw;
                }
            }
        }

        return true;
    }, cancellationToken);

    /// <summary>
    /// Inserts or replaces the row with the given key. This generic form reads, then inserts or updates, and when
    /// another writer inserts the key in between it replaces that row instead; a provider may replace it with an
    /// atomic upsert.
    /// </summary>
    protected virtual async Task UpsertAsync<TRow>(TRow row, string key, CancellationToken cancellationToken)
        where TRow : class
    {
        for (var attempt = 1; ; attempt++)
        {
            var done = await RunAsync(async db =>
            {
                var existing = await db.Set<TRow>().FindAsync([key], cancellationToken).ConfigureAwait(false);
                if (existing is null)
                {
                    db.Add(row);
                }
                else
                {
                    db.Entry(existing).CurrentValues.SetValues(row);
                }

                try
                {
                    await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
                    return true;
                }
                catch (DbUpdateException) when (existing is null && attempt < UpsertAttempts)
                {
                    // Another writer inserted the same key between our read and our insert: replace its row instead.
                    return false;
                }
            }, cancellationToken).ConfigureAwait(false);
            if (done)
            {
                return;
            }
        }
    }
}

/// <summary>Which schema migrations a database has and which it still needs, each list oldest first.</summary>
public sealed record MigrationStatus(IReadOnlyList<string> Applied, IReadOnlyList<string> Pending);
