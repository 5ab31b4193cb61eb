using Autonomic.Backends.Store;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Microsoft.Data.Sqlite;

namespace Autonomic.Integration.Tests.Store;

public sealed class SqliteStateStoreTests : StateStoreContract
{
    // A directory per test, with a level that does not exist yet: the store must create it.
    private readonly string _root = Path.Combine(Path.GetTempPath(), "autonomic-store-tests", Guid.NewGuid().ToString("N"));

    private string DbPath => Path.Combine(_root, "nested", "state.db");

    protected override Task<IStateStore> CreateStoreAsync() => Task.FromResult<IStateStore>(new SqliteStateStore($"sqlite:{DbPath}"));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    [Fact]
    public async Task A_second_store_on_the_same_file_sees_the_data()
    {
        await Store.SaveServiceAsync(FullSpec("web"));
        await Store.UpsertIncidentAsync(FullIncident("inc-1", T0));
        await Store.AppendEventAsync(CloudEvent.Create("/t", EventTypes.InstanceExited, "web-0", T0));
        await Store.DisposeAsync();

        await using var reopened = new SqliteStateStore($"sqlite:{DbPath}");
        await reopened.MigrateAsync();
        Assert.Equal("web", Assert.Single(await reopened.ListServicesAsync()).Name);
        AssertSameIncident(FullIncident("inc-1", T0), (await reopened.GetIncidentAsync("inc-1"))!);
        Assert.Single(await reopened.ListEventsAsync(10));
    }

    [Fact]
    public async Task The_file_is_in_wal_mode_with_the_schema_migrated()
    {
        await Store.SaveServiceAsync(FullSpec("web"));
        await using var connection = new SqliteConnection($"Data Source={DbPath}");
        await connection.OpenAsync();
        Assert.Equal("wal", await ScalarAsync(connection, "PRAGMA journal_mode;"));
        Assert.Equal("1", await ScalarAsync(connection, "SELECT count(*) FROM __EFMigrationsHistory WHERE MigrationId LIKE '%_InitialCreate';"));
    }

    [Fact]
    public async Task The_event_log_refuses_updates_and_deletes()
    {
        await Store.AppendEventAsync(CloudEvent.Create("/t", EventTypes.InstanceExited, "web-0", T0));
        await using var connection = new SqliteConnection($"Data Source={DbPath}");
        await connection.OpenAsync();

        var update = await Assert.ThrowsAsync<SqliteException>(() => ExecuteAsync(connection, "UPDATE events SET Type = 'x';"));
        Assert.Contains("append-only", update.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<SqliteException>(() => ExecuteAsync(connection, "DELETE FROM events;"));
        Assert.Equal(EventTypes.InstanceExited, Assert.Single(await Store.ListEventsAsync(10)).Type);
    }

    [Fact]
    public void A_relative_path_is_taken_from_the_current_directory()
    {
        Assert.Equal(Path.Combine(Environment.CurrentDirectory, ".autonomic", "state.db"), SqliteStateStore.ParsePath("sqlite:.autonomic/state.db"));
        Assert.Equal("/var/lib/a.db", SqliteStateStore.ParsePath("sqlite:/var/lib/a.db"));
    }

    [Theory]
    [InlineData("postgres://user:secret@host/db", "postgres:")]
    [InlineData("sqlite3:/tmp/x.db", "sqlite3:")]
    [InlineData("/tmp/x.db", "(none)")]
    public void Other_schemes_are_refused_with_a_clear_message(string url, string named)
    {
        var error = Assert.Throws<ArgumentException>(() => new SqliteStateStore(url));
        Assert.Contains("sqlite:PATH", error.Message, StringComparison.Ordinal);
        Assert.Contains(named, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_path_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new SqliteStateStore("sqlite:"));
    }

    private static async Task<string> ScalarAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture) ?? "";
    }

    private static async Task ExecuteAsync(SqliteConnection connection, string sql)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }
}
