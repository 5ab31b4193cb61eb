using Autonomic.Backends.Store.Postgres;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Autonomic.Integration.Tests.Store.Postgres;

/// <summary>
/// A uniquely named database on the test server (AUTONOMIC_TEST_POSTGRES, default the loopback server of
/// scripts/services/postgres.sh), dropped with its connections on dispose.
/// </summary>
internal sealed class PostgresTestDatabase : IAsyncDisposable
{
    public const string DefaultServerUrl = "postgres://postgres:postgres@127.0.0.1:5432/postgres";

    public PostgresTestDatabase(string? options = null)
    {
        Name = $"autonomic_test_{Guid.NewGuid():N}";
        Url = $"{ServerUrl[..ServerUrl.LastIndexOf('/')]}/{Name}{(options is null ? "" : "?" + options)}";
    }

    public static string ServerUrl =>
        Environment.GetEnvironmentVariable("AUTONOMIC_TEST_POSTGRES") is { Length: > 0 } url ? url : DefaultServerUrl;

    public string Name { get; }

    /// <summary>The store URL of this database.</summary>
    public string Url { get; }

    public async Task CreateAsync() => await AdminAsync($"CREATE DATABASE \"{Name}\"");

    /// <summary>Terminates every connection to this database; returns how many there were.</summary>
    public async Task<long> TerminateConnectionsAsync()
    {
        await using var connection = await OpenAdminAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = @db AND pid <> pg_backend_pid()", connection);
        command.Parameters.AddWithValue("db", Name);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>A plain connection to this database, outside any store.</summary>
    public async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(PostgresUrl.Parse(Url).ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        return connection;
    }

    public async ValueTask DisposeAsync() => await AdminAsync($"DROP DATABASE IF EXISTS \"{Name}\" WITH (FORCE)");

    public static async Task<object?> ScalarAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    private static async Task<NpgsqlConnection> OpenAdminAsync()
    {
        var connection = new NpgsqlConnection(PostgresUrl.Parse(ServerUrl).ConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        return connection;
    }

    private static async Task AdminAsync(string sql)
    {
        await using var connection = await OpenAdminAsync();
        await ScalarAsync(connection, sql);
    }
}

/// <summary>Keeps every log entry, to count retries and to check that no secret was logged.</summary>
internal sealed class RecordingLogger<T> : ILogger<T>
{
    private readonly List<(LogLevel Level, string Message)> _entries = [];

    public IReadOnlyList<(LogLevel Level, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries)
        {
            _entries.Add((logLevel, formatter(state, exception) + (exception is null ? "" : " " + exception)));
        }
    }
}
