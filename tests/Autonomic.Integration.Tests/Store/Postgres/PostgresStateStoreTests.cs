using Autonomic.Backends.Store.Postgres;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Microsoft.Extensions.Logging;
using Npgsql;
using Xunit.Abstractions;

namespace Autonomic.Integration.Tests.Store.Postgres;

/// <summary>The store contract on a real PostgreSQL server, each test in a database of its own.</summary>
public sealed class PostgresStateStoreTests(ITestOutputHelper output) : StateStoreContract
{
    private readonly PostgresTestDatabase _database = new();
    private readonly List<IAsyncDisposable> _extraStores = [];

    protected override async Task<IStateStore> CreateStoreAsync()
    {
        await _database.CreateAsync();
        return new PostgresStateStore(_database.Url);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        foreach (var store in _extraStores)
        {
            await store.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    [Fact]
    public async Task A_second_store_on_the_same_database_sees_the_data()
    {
        await Store.SaveServiceAsync(FullSpec("web"));
        await Store.UpsertIncidentAsync(FullIncident("inc-1", T0));
        await Store.AppendEventAsync(CloudEvent.Create("/t", EventTypes.InstanceExited, "web-0", T0));
        await Store.DisposeAsync();

        var reopened = Track(new PostgresStateStore(_database.Url));
        await reopened.MigrateAsync();
        Assert.Equal("web", Assert.Single(await reopened.ListServicesAsync()).Name);
        AssertSameIncident(FullIncident("inc-1", T0), (await reopened.GetIncidentAsync("inc-1"))!);
        Assert.Single(await reopened.ListEventsAsync(10));
    }

    [Fact]
    public async Task The_event_log_refuses_updates_deletes_and_truncation()
    {
        await Store.AppendEventAsync(CloudEvent.Create("/t", EventTypes.InstanceExited, "web-0", T0));
        await using var connection = await _database.OpenAsync();

        var update = await Assert.ThrowsAsync<PostgresException>(() => PostgresTestDatabase.ScalarAsync(connection, "UPDATE events SET \"Type\" = 'x'"));
        Assert.Contains("append-only", update.MessageText, StringComparison.Ordinal);
        await Assert.ThrowsAsync<PostgresException>(() => PostgresTestDatabase.ScalarAsync(connection, "DELETE FROM events"));
        await Assert.ThrowsAsync<PostgresException>(() => PostgresTestDatabase.ScalarAsync(connection, "TRUNCATE events"));
        Assert.Equal(EventTypes.InstanceExited, Assert.Single(await Store.ListEventsAsync(10)).Type);
        Assert.Equal(1L, await PostgresTestDatabase.ScalarAsync(connection,
            "SELECT count(*) FROM \"__EFMigrationsHistory\" WHERE \"MigrationId\" LIKE '%_InitialCreate'"));
    }

    [Fact]
    public async Task Writes_in_flight_when_the_server_kills_every_connection_all_land()
    {
        const int Writers = 200;
        const int WritesEach = 3;
        var logger = new RecordingLogger<PostgresStateStore>();
        var store = Track(new PostgresStateStore(_database.Url + "?Maximum Pool Size=40", logger));
        await store.MigrateAsync();

        using var started = new CountdownEvent(1);
        var writes = Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < WritesEach; i++)
            {
                await store.AppendEventAsync(CloudEvent.Create("/fault", EventTypes.ProbeFailed, $"w{w}", T0.AddMilliseconds(w * WritesEach + i)) with { Id = $"e-{w}-{i}" });
                await store.UpsertInstanceAsync(FullInstance($"w{w}", T0.AddMilliseconds(i)) with { Restarts = i });
            }
        })).ToArray();
        var all = Task.WhenAll(writes);

        // Kill every connection of the database, repeatedly, while the writers run.
        long terminated = 0;
        var rounds = 0;
        while (!all.IsCompleted && rounds < 6)
        {
            terminated += await _database.TerminateConnectionsAsync();
            rounds++;
            await Task.WhenAny(all, Task.Delay(TimeSpan.FromMilliseconds(60)));
        }

        await all.WaitAsync(TimeSpan.FromSeconds(40));
        var retries = logger.Entries.Count(e => e.Level == LogLevel.Warning);
        output.WriteLine($"{rounds} rounds terminated {terminated} connections; {retries} operations retried");

        Assert.True(terminated > 0, "no connection was terminated while the writes ran");
        Assert.True(retries > 0, "no operation was retried");
        Assert.Contains(logger.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("transient failure", StringComparison.Ordinal));
        var events = await store.ListEventsAsync(10_000);
        Assert.Equal(Writers * WritesEach, events.Count);
        Assert.Equal(Writers * WritesEach, events.Select(e => e.Id).Distinct().Count());
        var instances = await store.ListInstancesAsync();
        Assert.Equal(Writers, instances.Count);
        Assert.All(instances, i => Assert.Equal(WritesEach - 1, i.Restarts));
        var password = PostgresUrl.Parse(_database.Url).Password;
        if (!string.IsNullOrEmpty(password))
        {
            Assert.DoesNotContain(logger.Entries, e => e.Message.Contains($":{password}@", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Migrating_creates_a_missing_database()
    {
        await using var missing = new PostgresTestDatabase();
        var store = Track(new PostgresStateStore(missing.Url));
        await store.MigrateAsync();
        await store.SaveServiceAsync(FullSpec("web"));
        Assert.Single(await store.ListServicesAsync());
        Assert.Empty((await store.GetMigrationStatusAsync()).Pending);
        await store.DisposeAsync();
    }

    private PostgresStateStore Track(PostgresStateStore store)
    {
        _extraStores.Add(store);
        return store;
    }
}
