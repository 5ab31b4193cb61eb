using Autonomic.Backends.Leases;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Integration.Tests.ControlPlane;

namespace Autonomic.Integration.Tests.Distributed;

/// <summary>
/// The production shape: agents in separate processes over RabbitMQ, PostgreSQL and Redis, with faults injected
/// into the agents themselves.
/// </summary>
[Collection("control-plane")]
public sealed class AgentProcessTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(45);

    private static string Web(int port) => $"""
          web:
            command: {ControlPlaneHarness.Workload}
            port: {port}
            replicas: 1
            health:
              liveness: {"{"}http: /healthz, period: 200ms, timeout: 150ms, failure_threshold: 3{"}"}
            restart: {"{"}backoff_initial: 100ms, reset_after: 1s{"}"}
        """;

    [Fact]
    public async Task Up_OnRabbitMqPostgresAndRedis_HealsACrashAndAHang()
    {
        await using var cluster = new AgentCluster();
        var fleet = await cluster.WriteFleetAsync(Web(TestPorts.Free()));
        cluster.Start(null, fleet);
        await using var store = await cluster.OpenStoreAsync();
        var first = await ReadyPidAsync(store, cluster, null);

        Posix.KillNow(first);
        var second = await ReadyPidAsync(store, cluster, first);
        Assert.Single(AgentCluster.MarkedProcesses(cluster.FleetId, "web-0"));

        // A hang is caught by the monitor's liveness verdicts travelling over RabbitMQ to the healer.
        Posix.Stop(second);
        await ReadyPidAsync(store, cluster, second);
        var actions = await store.ListActionsAsync(50);
        Assert.True(actions.Any(a => a.Kind == "kill" && a.Rule == "lifecycle.alive.hang.kill"), cluster.Logs());
        Assert.True(actions.Count(a => a.Kind == "restart" && a.Status == ActionStatus.Succeeded) >= 2, cluster.Logs());
        // Two failures, recorded in one incident or two (depending on whether the first was stable again before the
        // second), every one mitigated.
        var incidents = await Eventually.WaitAsync(async () =>
            await store.ListIncidentsAsync(10) is { } all && all.All(i => i.MitigatedAt is not null)
                && all.Sum(i => int.Parse(i.Evidence.GetValueOrDefault("failures", "0"), System.Globalization.CultureInfo.InvariantCulture)) == 2 ? all : null,
            Deadline, "two mitigated failures");
        Assert.Equal("crash", incidents[^1].Cause);
    }

    [Fact]
    public async Task HealerKilledMidRestart_TheOtherTakesOverWithinTheLeaseTtl_AndHealsExactlyOnce()
    {
        await using var cluster = new AgentCluster();
        var fleet = await cluster.WriteFleetAsync(Web(TestPorts.Free()));
        // Each healer pauses 1.5 s between writing a launch's intent and carrying it out: the window to die in.
        var slow = new Dictionary<string, string> { ["AUTONOMIC_CHAOS_LAUNCH_DELAY_MS"] = "1500" };
        var healerA = cluster.Start("healer", fleet, slow);
        var healerB = cluster.Start("healer", fleet, slow);
        cluster.Start("monitor", fleet);
        cluster.Start("api", fleet);
        await using var store = await cluster.OpenStoreAsync();
        var pid = await ReadyPidAsync(store, cluster, null);

        // Whoever holds the service's lease is healing it.
        var (leases, _) = LeaseBackends.Create(cluster.Leases, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);
        await using var _leases = leases;
        var holder = await leases.GetAsync(Agents.Healing.HealerAgent.LeaseKey("web"));
        Assert.NotNull(holder);
        var (victim, survivor) = holder.Owner.Contains($"/{healerA.Id}/", StringComparison.Ordinal) ? (healerA, healerB) : (healerB, healerA);

        Posix.KillNow(pid);
        var intent = await Eventually.WaitAsync(async () =>
            (await store.ListActionsAsync(20)).FirstOrDefault(a => a.Kind == "restart" && a.Status == ActionStatus.Intent), Deadline, "the restart's intent");
        Posix.KillNow(victim.Id);
        var killedAt = DateTimeOffset.UtcNow;

        var healed = await ReadyPidAsync(store, cluster, pid);
        var takeover = DateTimeOffset.UtcNow - killedAt;
        Assert.False(survivor.HasExited, cluster.Logs());
        // Lease TTL (3 s) + the survivor's launch delay (1.5 s) + start-up, with room for a busy machine.
        Assert.True(takeover < TimeSpan.FromSeconds(12), $"healed {takeover.TotalSeconds:0.0} s after the healer died\n{cluster.Logs()}");

        // Exactly once: one process for the instance, one successful restart, the dead healer's intent settled.
        Assert.Equal([healed], AgentCluster.MarkedProcesses(cluster.FleetId, "web-0"));
        var actions = await store.ListActionsAsync(50);
        Assert.Single(actions, a => a.Kind == "restart" && a.Status == ActionStatus.Succeeded);
        var settled = Assert.Single(actions, a => a.Id == intent.Id);
        Assert.Equal(ActionStatus.Failed, settled.Status);
        Assert.Contains("interrupted", settled.Outcome, StringComparison.Ordinal);
        // The survivor holds the lease (read until seen: on a loaded machine a renewal can lapse for a moment, and the
        // survivor then takes the lease again with a still larger token).
        var newHolder = await Eventually.WaitAsync(async () =>
            await leases.GetAsync(Agents.Healing.HealerAgent.LeaseKey("web")) is { } l && l.Owner.Contains($"/{survivor.Id}/", StringComparison.Ordinal) ? l : null,
            Deadline, "the survivor holding the lease");
        Assert.True(newHolder.Token > holder.Token);
    }

    private static async Task<int> ReadyPidAsync(IStateStore store, AgentCluster cluster, int? notPid)
    {
        try
        {
            var record = await Eventually.WaitAsync(async () =>
                (await store.ListInstancesAsync()).FirstOrDefault(i => i.Id == "web-0" && i.State == InstanceState.Ready && i.Pid is { } p && p != notPid),
                Deadline, $"web-0 ready{(notPid is null ? "" : $" with a pid other than {notPid}")}");
            return record.Pid!.Value;
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{cluster.Logs()}", e);
        }
    }
}
