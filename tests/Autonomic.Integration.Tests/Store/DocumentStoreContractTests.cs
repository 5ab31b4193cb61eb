using System.Text.Json.Nodes;
using Autonomic.Backends.Store;
using Autonomic.Core.Abstractions;

namespace Autonomic.Integration.Tests.Store;

/// <summary>
/// What every <see cref="IDocumentStore"/> must do. A store's test class derives from this one and says how to make a
/// fresh, empty store for one test (migrated if it needs that); the contract disposes it if it is disposable.
/// </summary>
public abstract class DocumentStoreContract : IAsyncLifetime
{
    private IDocumentStore? _store;

    protected IDocumentStore Store => _store ?? throw new InvalidOperationException("Not initialised.");

    /// <summary>A fresh store with no documents, ready for use.</summary>
    protected abstract Task<IDocumentStore> CreateStoreAsync();

    public virtual async Task InitializeAsync() => _store = await CreateStoreAsync();

    public virtual async Task DisposeAsync()
    {
        switch (_store)
        {
            case IAsyncDisposable a:
                await a.DisposeAsync();
                break;
            case IDisposable d:
                d.Dispose();
                break;
        }
    }

    // Stores may normalise JSON (PostgreSQL's jsonb reorders keys and drops whitespace): compare the meaning.
    private static void AssertSameJson(string expected, string actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), JsonNode.Parse(actual)), $"expected {expected}, got {actual}");

    [Fact]
    public async Task A_missing_document_is_null()
    {
        Assert.Null(await Store.GetDocumentAsync("keys", "nope"));
        Assert.Empty(await Store.ListDocumentsAsync("keys", 10));
        Assert.False(await Store.DeleteDocumentAsync("keys", "nope"));
    }

    [Fact]
    public async Task The_first_write_is_version_1_and_reads_back()
    {
        var version = await Store.PutDocumentAsync("keys", "k1", """{"name":"ci","n":1,"nested":{"a":[1,2]}}""", null);

        Assert.Equal(1, version);
        var doc = await Store.GetDocumentAsync("keys", "k1");
        Assert.NotNull(doc);
        Assert.Equal(("keys", "k1", 1L), (doc.Collection, doc.Id, doc.Version));
        AssertSameJson("""{"name":"ci","n":1,"nested":{"a":[1,2]}}""", doc.Json);
        Assert.NotEqual(default, doc.UpdatedAt);
    }

    [Fact]
    public async Task Every_write_adds_one_to_the_version()
    {
        Assert.Equal(1, await Store.PutDocumentAsync("c", "x", """{"v":1}""", null));
        Assert.Equal(2, await Store.PutDocumentAsync("c", "x", """{"v":2}""", null));
        Assert.Equal(3, await Store.PutDocumentAsync("c", "x", """{"v":3}""", 2));

        var doc = await Store.GetDocumentAsync("c", "x");
        Assert.Equal(3, doc!.Version);
        AssertSameJson("""{"v":3}""", doc.Json);
    }

    [Fact]
    public async Task Expected_version_0_writes_only_when_nothing_is_stored()
    {
        Assert.Equal(1, await Store.PutDocumentAsync("c", "x", """{"v":"first"}""", 0));
        Assert.Null(await Store.PutDocumentAsync("c", "x", """{"v":"second"}""", 0));

        AssertSameJson("""{"v":"first"}""", (await Store.GetDocumentAsync("c", "x"))!.Json);
    }

    [Fact]
    public async Task A_stale_expected_version_writes_nothing()
    {
        await Store.PutDocumentAsync("c", "x", """{"v":1}""", null);
        await Store.PutDocumentAsync("c", "x", """{"v":2}""", 1);

        Assert.Null(await Store.PutDocumentAsync("c", "x", """{"v":"lost update"}""", 1));
        Assert.Null(await Store.PutDocumentAsync("c", "missing", """{"v":1}""", 5));

        var doc = await Store.GetDocumentAsync("c", "x");
        Assert.Equal(2, doc!.Version);
        AssertSameJson("""{"v":2}""", doc.Json);
        Assert.Null(await Store.GetDocumentAsync("c", "missing"));
    }

    [Fact]
    public async Task Of_concurrent_writers_with_the_same_expected_version_exactly_one_wins()
    {
        await Store.PutDocumentAsync("c", "x", """{"w":-1}""", null);

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() => Store.PutDocumentAsync("c", "x", $$"""{"w":{{i}}}""", 1))));

        var winners = Enumerable.Range(0, 16).Where(i => results[i] is not null).ToList();
        var winner = Assert.Single(winners);
        Assert.Equal(2, results[winner]);
        AssertSameJson($$"""{"w":{{winner}}}""", (await Store.GetDocumentAsync("c", "x"))!.Json);
    }

    [Fact]
    public async Task Collections_are_separate()
    {
        await Store.PutDocumentAsync("a", "same", """{"in":"a"}""", null);
        await Store.PutDocumentAsync("b", "same", """{"in":"b"}""", null);

        AssertSameJson("""{"in":"a"}""", (await Store.GetDocumentAsync("a", "same"))!.Json);
        Assert.True(await Store.DeleteDocumentAsync("a", "same"));
        Assert.Null(await Store.GetDocumentAsync("a", "same"));
        AssertSameJson("""{"in":"b"}""", (await Store.GetDocumentAsync("b", "same"))!.Json);
        Assert.Single(await Store.ListDocumentsAsync("b", 10));
    }

    [Fact]
    public async Task List_is_newest_first_and_limited()
    {
        foreach (var id in new[] { "one", "two", "three" })
        {
            await Store.PutDocumentAsync("tasks", id, $$"""{"id":"{{id}}"}""", null);
        }

        await Store.PutDocumentAsync("other", "zzz", "{}", null);
        // Updating "one" makes it the most recently updated.
        await Store.PutDocumentAsync("tasks", "one", """{"id":"one","again":true}""", 1);

        Assert.Equal(["one", "three", "two"], (await Store.ListDocumentsAsync("tasks", 10)).Select(d => d.Id));
        Assert.Equal(["one", "three"], (await Store.ListDocumentsAsync("tasks", 2)).Select(d => d.Id));
        Assert.Empty(await Store.ListDocumentsAsync("tasks", 0));
    }

    [Fact]
    public async Task A_deleted_document_is_gone_and_can_be_created_again()
    {
        await Store.PutDocumentAsync("c", "x", """{"v":1}""", null);
        await Store.PutDocumentAsync("c", "x", """{"v":2}""", null);

        Assert.True(await Store.DeleteDocumentAsync("c", "x"));
        Assert.False(await Store.DeleteDocumentAsync("c", "x"));
        Assert.Null(await Store.GetDocumentAsync("c", "x"));
        Assert.Empty(await Store.ListDocumentsAsync("c", 10));
        Assert.Equal(1, await Store.PutDocumentAsync("c", "x", """{"v":"again"}""", 0));
    }

    [Fact]
    public async Task Ids_and_text_are_kept_exactly()
    {
        var id = "ak_ÄÖ-1/2:x y" + new string('z', 180);
        await Store.PutDocumentAsync("api_keys", id, """{"name":"naïve \"quoted\" \\ 🚀","big":12345678901234}""", null);

        var doc = await Store.GetDocumentAsync("api_keys", id);
        Assert.Equal(id, doc!.Id);
        AssertSameJson("""{"name":"naïve \"quoted\" \\ 🚀","big":12345678901234}""", doc.Json);
    }
}

/// <summary>The contract against <see cref="InMemoryDocumentStore"/>, plus what only it promises.</summary>
public sealed class InMemoryDocumentStoreTests : DocumentStoreContract
{
    protected override Task<IDocumentStore> CreateStoreAsync() => Task.FromResult<IDocumentStore>(new InMemoryDocumentStore());

    [Fact]
    public async Task Invalid_json_and_overlong_names_are_refused()
    {
        await Assert.ThrowsAsync<ArgumentException>(() => Store.PutDocumentAsync("c", "x", "{not json", null));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.PutDocumentAsync(new string('c', 201), "x", "{}", null));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.GetDocumentAsync("c", ""));
        Assert.Null(await Store.GetDocumentAsync("c", "x"));
    }
}

/// <summary>The contract against the SQLite state store's documents table.</summary>
public sealed class SqliteDocumentStoreTests : DocumentStoreContract
{
    private readonly string _dir = Directory.CreateTempSubdirectory("autonomic-docs-").FullName;

    protected override async Task<IDocumentStore> CreateStoreAsync()
    {
        var store = new SqliteStateStore($"sqlite:{Path.Combine(_dir, "state.db")}");
        await store.MigrateAsync();
        return store;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }
}

/// <summary>The contract against the PostgreSQL state store's documents table (a real server: scripts/services/postgres.sh).</summary>
public sealed class PostgresDocumentStoreTests : DocumentStoreContract
{
    private readonly Postgres.PostgresTestDatabase _database = new();

    protected override async Task<IDocumentStore> CreateStoreAsync()
    {
        await _database.CreateAsync();
        var store = new Backends.Store.Postgres.PostgresStateStore(_database.Url);
        await store.MigrateAsync();
        return store;
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _database.DisposeAsync();
    }
}
