using System.Data.Common;
using Autonomic.Core.Abstractions;
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
public sealed class SqliteStateStore : EfStateStore
{
    /// <summary>How long a statement waits for a lock held by another connection before failing.</summary>
    public static readonly TimeSpan BusyTimeout = TimeSpan.FromSeconds(30);

    private const string Scheme = "sqlite:";

    private readonly DbContextOptions<AutonomicDbContext> _options;
    private readonly string _connectionString;

    /// <summary>
    /// Opens (lazily) the store at <paramref name="url"/>, <c>sqlite:PATH</c>; a relative PATH is taken from the
    /// current directory. The file's directory is created. Call <see cref="EfStateStore.MigrateAsync"/> before first use.
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

    /// <summary>Releases the pooled connections, so the file can be moved or deleted.</summary>
    public override ValueTask DisposeAsync()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    protected override AutonomicDbContext NewContext() => new(_options);

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
