using System.Collections.Concurrent;
using System.Net.Sockets;
using Autonomic.Core.Abstractions;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Autonomic.Backends.Store.Postgres;

/// <summary>
/// <see cref="IStateStore"/> in a PostgreSQL database through EF Core and Npgsql, named by
/// <c>postgres://user:password@host:port/database</c>. Connections come from one Npgsql pool per store. Every
/// operation is one statement or one read, made safe to repeat, and is repeated on a transient failure (a lost
/// or terminated connection, a serialization failure, a server restarting) for up to <see cref="RetryFor"/>; so a
/// write whose task completes is stored even if the server dropped connections while it ran. Upserts and event
/// appends are single <c>INSERT ... ON CONFLICT</c> statements, so concurrent writers of one key never fail.
/// The event table refuses UPDATE, DELETE and TRUNCATE (triggers in the migration). The password is never logged.
/// </summary>
public sealed class PostgresStateStore : EfStateStore
{
    private static readonly ConcurrentDictionary<Type, UpsertStatement> Statements = new();
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);

    private readonly NpgsqlDataSource _dataSource;
    private readonly DbContextOptions<PostgresDbContext> _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;

    /// <summary>
    /// Opens (lazily) the store at <paramref name="url"/>. Call <see cref="EfStateStore.MigrateAsync"/> before
    /// first use; it creates the database if the server has none of that name.
    /// </summary>
    /// <exception cref="ArgumentException">The URL is not a PostgreSQL URL naming a host and a database.</exception>
    public PostgresStateStore(string url, ILogger<PostgresStateStore>? logger = null, TimeProvider? time = null)
    {
        var builder = PostgresUrl.Parse(url);
        DisplayUrl = PostgresUrl.Mask(url);
        Database = builder.Database!;
        _dataSource = new NpgsqlDataSourceBuilder(builder.ConnectionString).Build();
        _options = new DbContextOptionsBuilder<PostgresDbContext>().UseNpgsql(_dataSource).Options;
        _logger = logger ?? NullLogger<PostgresStateStore>.Instance;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>The store URL with its password masked: safe to print and log.</summary>
    public string DisplayUrl { get; }

    /// <summary>The name of the database.</summary>
    public string Database { get; }

    /// <summary>
    /// How long an operation keeps being retried after its first transient failure before the failure is thrown.
    /// Set it before the store is used.
    /// </summary>
    public TimeSpan RetryFor { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Closes the pooled connections.</summary>
    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    /// <inheritdoc />
    protected override AutonomicDbContext NewContext() => new PostgresDbContext(_options);

    /// <inheritdoc />
    protected override async Task<T> RunAsync<T>(Func<AutonomicDbContext, Task<T>> operation, CancellationToken cancellationToken)
    {
        long? firstFailure = null;
        var backoff = FirstBackoff;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await base.RunAsync(operation, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && IsTransient(e))
            {
                firstFailure ??= _time.GetTimestamp();
                if (_time.GetElapsedTime(firstFailure.Value) + backoff > RetryFor)
                {
                    _logger.LogError(e, "PostgreSQL store {Store}: giving up after {Attempts} attempts", DisplayUrl, attempt);
                    throw;
                }

                _logger.LogWarning("PostgreSQL store {Store}: transient failure on attempt {Attempt} ({Error}); retrying in {Delay} ms",
                    DisplayUrl, attempt, Describe(e), (int)backoff.TotalMilliseconds);
                if (IsConnectionLoss(e))
                {
                    // The server dropped connections; other idle ones in the pool are likely dead too, so the
                    // retry should open a fresh one rather than draw another corpse.
                    _dataSource.Clear();
                }

                await Task.Delay(backoff, _time, cancellationToken).ConfigureAwait(false);
                backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
            }
        }
    }

    /// <summary>One atomic <c>INSERT ... ON CONFLICT ("Id") DO NOTHING</c>: a repeat, or a racing append of the same id, is ignored.</summary>
    protected override Task InsertEventAsync(EventRow row, CancellationToken cancellationToken) =>
        ExecuteUpsertAsync(row, cancellationToken);

    /// <summary>One atomic <c>INSERT ... ON CONFLICT (key) DO UPDATE</c>: idempotent, and race-free between writers.</summary>
    protected override Task UpsertAsync<TRow>(TRow row, string key, CancellationToken cancellationToken) =>
        ExecuteUpsertAsync(row, cancellationToken);

    /// <summary>Whether <paramref name="error"/> (or one it wraps) is worth retrying on a new connection.</summary>
    internal static bool IsTransient(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException pg:
                    return pg.IsTransient || IsConnectionState(pg.SqlState)
                        || pg.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected
                            or PostgresErrorCodes.TooManyConnections;
                case NpgsqlException { IsTransient: true }:
                case IOException or SocketException or TimeoutException:
                    return true;
            }
        }

        return false;
    }

    private static bool IsConnectionLoss(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            if (e is PostgresException pg)
            {
                return IsConnectionState(pg.SqlState);
            }

            if (e is IOException or SocketException)
            {
                return true;
            }
        }

        return false;
    }

    // Class 08 is "connection exception"; 57P01-57P03 are the server shutting down or terminating this backend.
    private static bool IsConnectionState(string state) =>
        state.StartsWith("08", StringComparison.Ordinal)
        || state is PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown or PostgresErrorCodes.CannotConnectNow;

    private static string Describe(Exception error)
    {
        var inner = error;
        while (inner.InnerException is not null && inner is not NpgsqlException)
        {
            inner = inner.InnerException;
        }

        return inner is PostgresException pg ? $"{pg.SqlState} {pg.MessageText}" : $"{inner.GetType().Name}: {inner.Message}";
    }

    private Task ExecuteUpsertAsync<TRow>(TRow row, CancellationToken cancellationToken)
        where TRow : class => RunAsync(async db =>
    {
        var statement = Statements.GetOrAdd(typeof(TRow), static (_, db) => UpsertStatement.For(db, typeof(TRow)), db);
        await db.Database.ExecuteSqlRawAsync(statement.Sql, statement.Parameters(row), cancellationToken).ConfigureAwait(false);
        return true;
    }, cancellationToken);

    /// <summary>
    /// The insert-or-replace statement of one row type, built from the EF model so that column names and value
    /// conversions (UTC ticks, enum names) are those of the migrations. Events conflict on their unique id and are
    /// left as stored; other rows conflict on their primary key and take the new values.
    /// </summary>
    private sealed class UpsertStatement
    {
        private readonly IProperty[] _columns;

        private UpsertStatement(string sql, IProperty[] columns)
        {
            Sql = sql;
            _columns = columns;
        }

        public string Sql { get; }

        public object[] Parameters(object row) =>
        [
            .. _columns.Select((p, i) =>
            {
                var value = p.GetGetter().GetClrValueUsingContainingEntity(row);
                var converter = p.GetTypeMapping().Converter;
                if (converter is not null && value is not null)
                {
                    value = converter.ConvertToProvider(value);
                }

                return new NpgsqlParameter($"p{i}", value ?? DBNull.Value);
            }),
        ];

        public static UpsertStatement For(AutonomicDbContext db, Type rowType)
        {
            var sql = db.GetService<ISqlGenerationHelper>();
            var entity = db.Model.FindEntityType(rowType) ?? throw new InvalidOperationException($"{rowType.Name} is not in the store model.");
            var columns = entity.GetProperties().Where(p => p.ValueGenerated == ValueGenerated.Never).ToArray();
            string Column(IProperty p) => sql.DelimitIdentifier(p.GetColumnName());

            var insert = $"INSERT INTO {sql.DelimitIdentifier(entity.GetTableName()!, entity.GetSchema())} " +
                $"({string.Join(", ", columns.Select(Column))}) VALUES ({string.Join(", ", columns.Select((_, i) => $"@p{i}"))})";
            if (rowType == typeof(EventRow))
            {
                return new UpsertStatement($"{insert} ON CONFLICT ({Column(entity.FindProperty(nameof(EventRow.Id))!)}) DO NOTHING", columns);
            }

            var key = entity.FindPrimaryKey()!.Properties;
            var updates = columns.Except(key).Select(p => $"{Column(p)} = EXCLUDED.{Column(p)}");
            return new UpsertStatement(
                $"{insert} ON CONFLICT ({string.Join(", ", key.Select(Column))}) DO UPDATE SET {string.Join(", ", updates)}", columns);
        }
    }
}
