using System.Diagnostics;
using Autonomic.Backends.Store;
using Autonomic.Cli.Hosting;
using Autonomic.Core.Abstractions;
using Autonomic.Integration.Tests.ControlPlane;
using Autonomic.Integration.Tests.Store.Postgres;

namespace Autonomic.Integration.Tests.Distributed;

/// <summary>
/// Autonomic agents as separate OS processes (<c>autonomic agent NAME</c>) over the real RabbitMQ, PostgreSQL and
/// Redis: a database, an exchange and a key prefix of its own, removed afterwards.
/// </summary>
public sealed class AgentCluster : IAsyncDisposable
{
    private readonly List<(string Name, Process Process)> _agents = [];
    private readonly PostgresTestDatabase _database = new();
    private readonly string _prefix = $"autonomic-test:{Guid.NewGuid():N}:";

    public AgentCluster()
    {
        Root = Directory.CreateTempSubdirectory("autonomic-cluster-").FullName;
        ApiPort = TestPorts.Free();
        Exchange = $"autonomic-test-{Guid.NewGuid():N}";
    }

    public string Root { get; }
    public int ApiPort { get; }
    public string Exchange { get; }
    public string Api => $"http://127.0.0.1:{ApiPort}";

    public static string AmqpUrl => Environment.GetEnvironmentVariable("AUTONOMIC_TEST_RABBITMQ") is { Length: > 0 } u ? u : "amqp://guest:guest@127.0.0.1:5672/";
    public static string RedisUrl => Environment.GetEnvironmentVariable("AUTONOMIC_TEST_REDIS") is { Length: > 0 } u ? u : "redis://127.0.0.1:6379/0";

    public string Bus => $"{AmqpUrl}{(AmqpUrl.Contains('?', StringComparison.Ordinal) ? '&' : '?')}exchange={Exchange}";
    public string Store => _database.Url;
    public string Leases => $"{RedisUrl}{(RedisUrl.Contains('?', StringComparison.Ordinal) ? '&' : '?')}prefix={_prefix}";
    public string FleetId => global::Autonomic.Cli.Hosting.ControlPlane.FleetIdOf(Store);

    public async Task<string> WriteFleetAsync(string servicesYaml)
    {
        await _database.CreateAsync();
        var path = Path.Combine(Root, "autonomic.yaml");
        await File.WriteAllTextAsync(path, $"""
            control_plane:
              api: {Api}
              log_dir: {Root}/logs
            services:
            {servicesYaml}
            """);
        return path;
    }

    /// <summary>Starts <c>autonomic agent NAME</c> (or <c>up</c> when name is null) as a process of its own.</summary>
    public Process Start(string? agent, string fleetPath, IReadOnlyDictionary<string, string>? extraEnv = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Root,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "autonomic.dll"));
        if (agent is null)
        {
            psi.ArgumentList.Add("up");
        }
        else
        {
            psi.ArgumentList.Add("agent");
            psi.ArgumentList.Add(agent);
        }

        psi.ArgumentList.Add("-f");
        psi.ArgumentList.Add(fleetPath);
        psi.Environment["AUTONOMIC_BUS"] = Bus;
        psi.Environment["AUTONOMIC_STORE"] = Store;
        psi.Environment["AUTONOMIC_REDIS"] = Leases;
        foreach (var (k, v) in extraEnv ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        var process = Process.Start(psi)!;
        var log = Path.Combine(Root, $"{agent ?? "up"}-{process.Id}.log");
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _agents.Add((agent ?? "up", process));
        return process;
    }

    /// <summary>What every agent process wrote, for failure messages.</summary>
    public string Logs() => string.Join("\n", Directory.EnumerateFiles(Root, "*.log").Select(f => $"== {Path.GetFileName(f)}\n{File.ReadAllText(f)}"));

    /// <summary>A store client of the test's own on the cluster's database.</summary>
    public async Task<IStateStore> OpenStoreAsync()
    {
        var store = Backends.BackendRegistry.CreateStore(Store);
        await store.MigrateAsync();
        return store;
    }

    private static readonly Lock LogLock = new();

    private static void Append(string path, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (LogLock)
        {
            File.AppendAllText(path, line + "\n");
        }
    }

    public async ValueTask DisposeAsync()
    {
        // SIGTERM: each agent stops what it owns; then make sure nothing outlives the test.
        foreach (var (_, p) in _agents.Where(a => !a.Process.HasExited))
        {
            Posix.Terminate(p.Id);
        }

        foreach (var (_, p) in _agents)
        {
            if (!p.WaitForExit(TimeSpan.FromSeconds(15)))
            {
                p.Kill(entireProcessTree: true);
            }

            p.Dispose();
        }

        foreach (var pid in MarkedProcesses(FleetId))
        {
            try
            {
                Process.GetProcessById(pid).Kill();
            }
            catch (ArgumentException)
            {
            }
        }

        await _database.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Live processes launched for this cluster's fleet (optionally for one instance).</summary>
    public static IReadOnlyList<int> MarkedProcesses(string fleetId, string? instanceId = null) =>
        [.. Backends.Runtime.ProcFs.FindByEnvironment(instanceId is null ? [$"AUTONOMIC_FLEET={fleetId}"] : [$"AUTONOMIC_FLEET={fleetId}", $"AUTONOMIC_INSTANCE={instanceId}"])];
}

/// <summary>Signals by pid, through the runtime's own libc binding.</summary>
internal static class Posix
{
    public static void Terminate(int pid) => _ = Backends.Runtime.LibC.Kill(pid, 15);

    public static void KillNow(int pid) => _ = Backends.Runtime.LibC.Kill(pid, 9);

    public static void Stop(int pid) => _ = Backends.Runtime.LibC.Kill(pid, 19);
}
