using System.Data.Common;
using System.Text.Json;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Autonomic.Backends.Store;

/// <summary>
/// <see cref="IStateStore"/> in one SQLite file through EF Core. Safe for concurrent use: every operation has its
/// own <see cref="AutonomicDbContext"/>, the file is in WAL mode (readers do not block the writer) and a writer
/// waits up to <see cref="BusyTimeout"/> for the lock. Writes are durable when their task completes. Timestamps
/// read back in UTC, with the instant kept to the tick.
/// </summary>
public sealed class SqliteStateStore : IStateStore
{
    /// <summary>How long a statement waits for a lock held by another connection before failing.</summary>
    public static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(30);

    private const string Scheme = "sqlite:";
    private const int UpsertAttempts = 3;

    private readonly DbContextOptions<AutonomicDbContext> _options;
    private readonly string _connectionString;

    /// <summary>
    /// Opens (lazily) the store at <paramref name="url"/>, <c>sqlite:PATH</c>; a relative PATH is taken from the
    /// current directory. The file's directory is created. Call <see cref="MigrateAsync"/> before first use.
    /// </summary>
    /// <exception cref="ArgumentException">The URL is not <c>sqlite:PATH</c>.</exception>
    public SqliteStateStore(string url)
    {
        FilePath = ParsePath(url);
        Directory.CreateDirectory(Path.GetDirectoryName(FilePath)!);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = FilePath,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            DefaultTimeout = (int)BusyTimeout.TotalSeconds,
            Pooling = true,
        }.ToString();
        _options = new DbContextOptionsBuilder<AutonomicDbContext>()
            .UseSqlite(_connectionString)
            .AddInterceptors(new ConnectionPragmas())
            .Options;
    }

    /// <summary>The absolute path of the database file.</summary>
    public string FilePath { get; }

    /// <summary>The absolute database path named by a <c>sqlite:PATH</c> URL.</summary>
    /// <exception cref="ArgumentException">Another scheme, or no path.</exception>
    public static string ParsePath(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!url.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            // Only the scheme is echoed: the rest of a store URL may hold a password.
            var colon = url.IndexOf(':', StringComparison.Ordinal);
            var scheme = colon < 0 ? "(none)" : url[..(colon + 1)];
            throw new ArgumentException(
                $"The SQLite state store needs a URL of the form 'sqlite:PATH' (e.g. 'sqlite:.autonomic/state.db'), not scheme '{scheme}'.",
                nameof(url));
        }

        var path = url[Scheme.Length..];
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ArgumentException("The store URL 'sqlite:' names no file: use 'sqlite:PATH'.", nameof(url));
        }

        return Path.GetFullPath(path);
    }

    /// <inheritdoc />
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var db = NewContext();
        await db.Database.MigrateAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public Task SaveServiceAsync(ServiceSpec spec, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(spec);
        return UpsertAsync(StoreMapping.ToRow(spec), spec.Name, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<ServiceSpec>> ListServicesAsync(CancellationToken cancellationToken = default)
    {
        await using var db = NewContext();
        var rows = await db.Services.AsNoTracking().OrderBy(r => r.Name).ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. rows.Select(StoreMapping.ToSpec)];
    }

    /// <inheritdoc />
    public Task UpsertInstanceAsync(InstanceRecord instance, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(instance);
        return UpsertAsync(StoreMapping.ToRow(instance), instance.Id, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<InstanceRecord>> ListInstancesAsync(CancellationToken cancellationToken = default)
    {
        await using var db = NewContext();
        var rows = await db.Instances.AsNoTracking().OrderBy(r => r.Service).ThenBy(r => r.Index).ThenBy(r => r.Id)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. rows.Select(StoreMapping.ToRecord)];
    }

    /// <inheritdoc />
    public async Task DeleteInstanceAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var db = NewContext();
        await db.Instances.Where(r => r.Id == id).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task AppendEventAsync(CloudEvent evt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evt);
        await using var db = NewContext();
        if (await db.Events.AnyAsync(r => r.Id == evt.Id, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        db.Events.Add(StoreMapping.ToRow(evt));
        try
        {
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (DbUpdateException)
        {
            // A concurrent append of the same id won the race; that is the duplicate we ignore.
            await using var check = NewContext();
            if (!await check.Events.AnyAsync(r => r.Id == evt.Id, cancellationToken).ConfigureAwait(false))
            {
                throw;
            }
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<CloudEvent>> ListEventsAsync(int limit, string? subject = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        await using var db = NewContext();
        var query = db.Events.AsNoTracking();
        if (subject is not null)
        {
            query = query.Where(r => r.Subject == subject);
        }

        var newest = await query.OrderByDescending(r => r.Time).ThenByDescending(r => r.Seq).Take(limit)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        newest.Reverse();
        return [.. newest.Select(StoreMapping.ToEvent)];
    }

    /// <inheritdoc />
    public Task UpsertIncidentAsync(Incident incident, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(incident);
        return UpsertAsync(StoreMapping.ToRow(incident), incident.Id, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<Incident>> ListIncidentsAsync(int limit, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        await using var db = NewContext();
        var rows = await db.Incidents.AsNoTracking().OrderByDescending(r => r.DetectedAt).ThenByDescending(r => r.Id).Take(limit)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. rows.Select(StoreMapping.ToIncident)];
    }

    /// <inheritdoc />
    public async Task<Incident?> GetIncidentAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var db = NewContext();
        var row = await db.Incidents.AsNoTracking().FirstOrDefaultAsync(r => r.Id == id, cancellationToken).ConfigureAwait(false);
        return row is null ? null : StoreMapping.ToIncident(row);
    }

    /// <inheritdoc />
    public Task UpsertActionAsync(AgentAction action, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(action);
        return UpsertAsync(StoreMapping.ToRow(action), action.Id, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<AgentAction>> ListActionsAsync(int limit, string? incidentId = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        await using var db = NewContext();
        var query = db.Actions.AsNoTracking();
        if (incidentId is not null)
        {
            query = query.Where(r => r.IncidentId == incidentId);
        }

        var rows = await query.OrderByDescending(r => r.CreatedAt).ThenByDescending(r => r.Id).Take(limit)
            .ToListAsync(cancellationToken).ConfigureAwait(false);
        return [.. rows.Select(StoreMapping.ToAction)];
    }

    /// <summary>Releases the pooled connections, so the file can be moved or deleted.</summary>
    public ValueTask DisposeAsync()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }

    private AutonomicDbContext NewContext() => new(_options);

    /// <summary>Inserts or replaces the row with the given key.</summary>
    private async Task UpsertAsync<TRow>(TRow row, string key, CancellationToken cancellationToken)
        where TRow : class
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var db = NewContext();
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
                return;
            }
            catch (DbUpdateException) when (existing is null && attempt < UpsertAttempts)
            {
                // Another writer inserted the same key between our read and our insert: replace its row instead.
            }
        }
    }

    /// <summary>Sets per-connection pragmas whenever EF opens a connection (pooled connections included).</summary>
    private sealed class ConnectionPragmas : DbConnectionInterceptor
    {
        // WAL lets readers run beside the single writer; it persists in the file, so this is a no-op after the
        // first time. busy_timeout makes SQLite itself wait for locks instead of failing with SQLITE_BUSY.
        private static readonly string Sql =
            $"PRAGMA journal_mode=WAL; PRAGMA busy_timeout={(int)BusyTimeout.TotalMilliseconds};";

        public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData)
        {
            using var command = connection.CreateCommand();
            command.CommandText = Sql;
            command.ExecuteNonQuery();
        }

        public override async Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
        {
            var command = connection.CreateCommand();
            await using (command.ConfigureAwait(false))
            {
                command.CommandText = Sql;
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }
}

/// <summary>Converts between Core records and store rows; JSON columns use <see cref="JsonDefaults.Options"/>.</summary>
internal static class StoreMapping
{
    public static ServiceRow ToRow(ServiceSpec spec) => new()
    {
        Name = spec.Name,
        SpecJson = JsonSerializer.Serialize(spec, JsonDefaults.Options),
    };

    public static ServiceSpec ToSpec(ServiceRow row) =>
        JsonSerializer.Deserialize<ServiceSpec>(row.SpecJson, JsonDefaults.Options)
        ?? throw new InvalidDataException($"Stored spec of service '{row.Name}' is null.");

    public static InstanceRow ToRow(InstanceRecord r) => new()
    {
        Id = r.Id,
        Service = r.Service,
        Index = r.Index,
        State = r.State,
        Pid = r.Pid,
        StartTicks = r.StartTicks,
        Port = r.Port,
        StartedAt = r.StartedAt,
        ReadySince = r.ReadySince,
        Restarts = r.Restarts,
        Reason = r.Reason,
        UpdatedAt = r.UpdatedAt,
    };

    public static InstanceRecord ToRecord(InstanceRow r) => new()
    {
        Id = r.Id,
        Service = r.Service,
        Index = r.Index,
        State = r.State,
        Pid = r.Pid,
        StartTicks = r.StartTicks,
        Port = r.Port,
        StartedAt = r.StartedAt,
        ReadySince = r.ReadySince,
        Restarts = r.Restarts,
        Reason = r.Reason,
        UpdatedAt = r.UpdatedAt,
    };

    public static EventRow ToRow(CloudEvent e) => new()
    {
        Id = e.Id,
        Source = e.Source,
        Type = e.Type,
        Time = e.Time,
        Subject = e.Subject,
        DataJson = e.Data?.GetRawText(),
    };

    public static CloudEvent ToEvent(EventRow r) => new()
    {
        Id = r.Id,
        Source = r.Source,
        Type = r.Type,
        Time = r.Time,
        Subject = r.Subject,
        Data = r.DataJson is null ? null : JsonSerializer.Deserialize<JsonElement>(r.DataJson, JsonDefaults.Options),
    };

    public static IncidentRow ToRow(Incident i) => new()
    {
        Id = i.Id,
        Service = i.Service,
        InstanceId = i.InstanceId,
        Cause = i.Cause,
        Status = i.Status,
        Summary = i.Summary,
        FailedAt = i.FailedAt,
        DetectedAt = i.DetectedAt,
        MitigatedAt = i.MitigatedAt,
        ResolvedAt = i.ResolvedAt,
        NeedsHuman = i.NeedsHuman,
        EvidenceJson = JsonSerializer.Serialize(i.Evidence, JsonDefaults.Options),
        ActionIdsJson = JsonSerializer.Serialize(i.ActionIds, JsonDefaults.Options),
    };

    public static Incident ToIncident(IncidentRow r) => new()
    {
        Id = r.Id,
        Service = r.Service,
        InstanceId = r.InstanceId,
        Cause = r.Cause,
        Status = r.Status,
        Summary = r.Summary,
        FailedAt = r.FailedAt,
        DetectedAt = r.DetectedAt,
        MitigatedAt = r.MitigatedAt,
        ResolvedAt = r.ResolvedAt,
        NeedsHuman = r.NeedsHuman,
        Evidence = ReadDictionary(r.EvidenceJson),
        ActionIds = JsonSerializer.Deserialize<List<string>>(r.ActionIdsJson, JsonDefaults.Options) ?? [],
    };

    public static ActionRow ToRow(AgentAction a) => new()
    {
        Id = a.Id,
        Agent = a.Agent,
        Kind = a.Kind,
        Subject = a.Subject,
        Reason = a.Reason,
        Rule = a.Rule,
        EvidenceJson = JsonSerializer.Serialize(a.Evidence, JsonDefaults.Options),
        Status = a.Status,
        Outcome = a.Outcome,
        IncidentId = a.IncidentId,
        CreatedAt = a.CreatedAt,
        CompletedAt = a.CompletedAt,
    };

    public static AgentAction ToAction(ActionRow r) => new()
    {
        Id = r.Id,
        Agent = r.Agent,
        Kind = r.Kind,
        Subject = r.Subject,
        Reason = r.Reason,
        Rule = r.Rule,
        Evidence = ReadDictionary(r.EvidenceJson),
        Status = r.Status,
        Outcome = r.Outcome,
        IncidentId = r.IncidentId,
        CreatedAt = r.CreatedAt,
        CompletedAt = r.CompletedAt,
    };

    private static Dictionary<string, string> ReadDictionary(string json) =>
        JsonSerializer.Deserialize<Dictionary<string, string>>(json, JsonDefaults.Options) ?? [];
}
