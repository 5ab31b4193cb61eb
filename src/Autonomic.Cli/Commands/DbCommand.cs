using System.CommandLine;
using Autonomic.Backends;
using Autonomic.Backends.Store;
using Autonomic.Backends.Store.Postgres;
using Autonomic.Core.Specs;

namespace Autonomic.Cli.Commands;

/// <summary>
/// <c>autonomic db upgrade|status [--store URL]</c>: applies or lists the schema migrations of the state store
/// (SQLite or PostgreSQL), named by <c>--store</c>, else <c>AUTONOMIC_STORE</c>, else the default SQLite file.
/// Store URLs are printed with their password masked. Exit codes: 0 done, 1 the store failed, 2 bad URL.
/// </summary>
public static class DbCommand
{
    private static readonly TimeSpan CommandRetryFor = TimeSpan.FromSeconds(10);

    /// <summary>The <c>db</c> command; <paramref name="context"/> (default: the process console) receives the output.</summary>
    public static Command Create(CliContext? context = null)
    {
        context ??= CliContext.FromProcess();
        var store = new Option<string>("--store")
        {
            Description = "Store URL: sqlite:PATH or postgres://user:password@host:port/database (env AUTONOMIC_STORE)",
            Recursive = true,
            DefaultValueFactory = _ => DefaultStore(),
        };

        var upgrade = new Command("upgrade", "Apply the pending schema migrations (creating the database if needed) and print them");
        upgrade.SetAction((parse, ct) => RunAsync(context, parse.GetValue(store)!, (s, c) => UpgradeAsync(context, s, c), ct));

        var status = new Command("status", "List the applied and the pending schema migrations");
        status.SetAction((parse, ct) => RunAsync(context, parse.GetValue(store)!, (s, c) => StatusAsync(context, s, c), ct));

        return new Command("db", "Manage the state store's schema") { store, upgrade, status };
    }

    /// <summary>Applies the pending migrations of <paramref name="store"/> and prints each one; 0 on success.</summary>
    public static async Task<int> UpgradeAsync(CliContext context, EfStateStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(store);
        var applied = await store.UpgradeAsync(cancellationToken);
        foreach (var id in applied)
        {
            await context.Out.WriteLineAsync($"applied  {id}");
        }

        var total = (await store.GetMigrationStatusAsync(cancellationToken)).Applied.Count;
        await context.Out.WriteLineAsync(applied.Count == 0
            ? $"up to date: {total} migration(s) applied, none pending"
            : $"upgraded: {applied.Count} migration(s) applied now, {total} in all");
        return 0;
    }

    /// <summary>Prints every migration of <paramref name="store"/> as applied or pending; 0 on success.</summary>
    public static async Task<int> StatusAsync(CliContext context, EfStateStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(store);
        var status = await store.GetMigrationStatusAsync(cancellationToken);
        foreach (var id in status.Applied)
        {
            await context.Out.WriteLineAsync($"applied  {id}");
        }

        foreach (var id in status.Pending)
        {
            await context.Out.WriteLineAsync($"pending  {id}");
        }

        await context.Out.WriteLineAsync($"{status.Applied.Count} applied, {status.Pending.Count} pending");
        return 0;
    }

    private static string DefaultStore() =>
        Environment.GetEnvironmentVariable("AUTONOMIC_STORE") is { Length: > 0 } env ? env : new ControlPlaneSettings().Store;

    private static async Task<int> RunAsync(
        CliContext context, string url, Func<EfStateStore, CancellationToken, Task<int>> action, CancellationToken cancellationToken)
    {
        var shown = PostgresUrl.Mask(url);
        EfStateStore store;
        try
        {
            store = BackendRegistry.CreateStore(url) as EfStateStore
                ?? throw new ArgumentException($"store '{shown}' has no schema migrations to manage");
        }
        catch (ArgumentException e)
        {
            await context.Error.WriteLineAsync($"error: {e.Message}");
            return 2;
        }

        if (store is PostgresStateStore postgres)
        {
            // Someone is waiting at the terminal: report an unreachable server sooner than a control plane would give up.
            postgres.RetryFor = CommandRetryFor;
        }

        await using (store)
        {
            await context.Out.WriteLineAsync($"store: {shown}");
            try
            {
                return await action(store, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Driver messages name host and database at most, never the password (it is not kept in them).
                await context.Error.WriteLineAsync($"error: store '{shown}' failed: {e.GetBaseException().Message}");
                return 1;
            }
        }
    }
}
