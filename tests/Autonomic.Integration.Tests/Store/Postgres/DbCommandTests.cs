using System.CommandLine;
using Autonomic.Backends.Store.Postgres;
using Autonomic.Cli.Commands;
using Microsoft.EntityFrameworkCore;

namespace Autonomic.Integration.Tests.Store.Postgres;

public sealed class DbCommandTests : IAsyncLifetime
{
    private readonly PostgresTestDatabase _database = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _database.DisposeAsync();

    private static async Task<(int Exit, string Out, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var root = new RootCommand { DbCommand.Create(CliContext.ForWriters(output, error)) };
        var exit = await root.Parse(["db", .. args]).InvokeAsync();
        return (exit, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Upgrade_migrates_a_fresh_database_and_status_lists_what_is_applied()
    {
        var before = await RunAsync("status", "--store", _database.Url);
        Assert.Equal(0, before.Exit);
        Assert.Matches(@"pending  \d{14}_InitialCreate", before.Out);
        // Every migration the PostgreSQL context carries (read from the assembly, no database needed).
        var all = new PostgresDbContext(new Microsoft.EntityFrameworkCore.DbContextOptionsBuilder<PostgresDbContext>().UseNpgsql("Host=127.0.0.1").Options)
            .Database.GetMigrations().Count();
        Assert.True(all >= 2, "InitialCreate and Documents at least");
        Assert.Contains($"0 applied, {all} pending", before.Out, StringComparison.Ordinal);

        var upgrade = await RunAsync("upgrade", "--store", _database.Url);
        Assert.Equal(0, upgrade.Exit);
        Assert.Matches(@"applied  \d{14}_InitialCreate", upgrade.Out);
        Assert.Contains($"upgraded: {all} migration(s) applied now", upgrade.Out, StringComparison.Ordinal);
        Assert.Contains(PostgresUrl.Mask(_database.Url), upgrade.Out, StringComparison.Ordinal);
        AssertNoPassword(upgrade.Out + upgrade.Error);

        var again = await RunAsync("upgrade", "--store", _database.Url);
        Assert.Contains($"up to date: {all} migration(s) applied, none pending", again.Out, StringComparison.Ordinal);

        var after = await RunAsync("status", "--store", _database.Url);
        Assert.Matches(@"applied  \d{14}_InitialCreate", after.Out);
        Assert.Contains($"{all} applied, 0 pending", after.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upgrade_works_on_the_sqlite_store_too()
    {
        var dir = Path.Combine(Path.GetTempPath(), "autonomic-db-command", Guid.NewGuid().ToString("N"));
        try
        {
            var run = await RunAsync("upgrade", "--store", $"sqlite:{Path.Combine(dir, "state.db")}");
            Assert.Equal(0, run.Exit);
            Assert.Matches(@"applied  \d{14}_InitialCreate", run.Out);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
    }

    [Fact]
    public async Task A_refused_login_fails_with_a_masked_url()
    {
        var server = PostgresUrl.Parse(_database.Url);
        var url = $"postgres://no_such_role:hunter2@{server.Host}:{server.Port}/{_database.Name}";
        var run = await RunAsync("status", "--store", url);
        Assert.Equal(1, run.Exit);
        Assert.Contains($"postgres://no_such_role:***@{server.Host}:{server.Port}/", run.Error, StringComparison.Ordinal);
        AssertNoPassword(run.Out + run.Error, "hunter2");
    }

    [Fact]
    public async Task A_bad_url_is_a_usage_error()
    {
        var run = await RunAsync("status", "--store", "postgres://u:hunter2@/db");
        Assert.Equal(2, run.Exit);
        AssertNoPassword(run.Out + run.Error, "hunter2");
    }

    private void AssertNoPassword(string text, string? password = null)
    {
        password ??= PostgresUrl.Parse(_database.Url).Password;
        if (!string.IsNullOrEmpty(password))
        {
            Assert.DoesNotContain($":{password}@", text, StringComparison.Ordinal);
        }
    }
}
