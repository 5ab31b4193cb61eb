using System.Diagnostics;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;

namespace Autonomic.Integration.Tests.ControlPlane;

/// <summary>End to end: real workload processes under a real embedded control plane, faults injected, recovery asserted.</summary>
[Collection("control-plane")]
public sealed class HealingTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static string Web(int port, int replicas = 2, string extra = "") => $"""
          web:
            command: {ControlPlaneHarness.Workload}
            port: {port}
            replicas: {replicas}
            health:
              liveness: {"{"}http: /healthz, period: 200ms, timeout: 150ms, failure_threshold: 3{"}"}
              readiness: {"{"}http: /readyz, period: 200ms, timeout: 150ms{"}"}
            restart: {"{"}backoff_initial: 100ms, reset_after: 1s{"}"}
        {extra}
        """;

    [Fact]
    public async Task Crash_IsRestartedAtOnce_AndTheIncidentRecordsDetectionAndMitigation()
    {
        await using var h = new ControlPlaneHarness();
        await h.StartAsync(h.Fleet(Web(TestPorts.FreeRun(2))));
        await h.WaitAllReadyAsync(Deadline);
        var before = h.Instance("web-0").Record.Pid!.Value;

        var fault = await h.Chaos.InjectAsync(Faults.Kill, "web/0");
        Assert.Equal(before, fault.Pid);

        await h.WaitReadyAsync("web-0", Deadline, notPid: before);
        var incident = await Eventually.WaitAsync(async () =>
            (await h.Store.ListIncidentsAsync(10)).FirstOrDefault(i => i.InstanceId == "web-0" && i.MitigatedAt is not null), Deadline, "a mitigated incident");
        Assert.Equal("crash", incident.Cause);
        Assert.InRange(incident.TimeToDetect, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        Assert.NotNull(incident.TimeToMitigate);
        Assert.True(incident.TimeToMitigate > TimeSpan.Zero);
        Assert.Contains("killed by signal 9", incident.Evidence["exit"], StringComparison.Ordinal);

        var actions = await h.Store.ListActionsAsync(50, incident.Id);
        var restart = Assert.Single(actions, a => a.Kind == "restart");
        Assert.Equal("lifecycle.crash.restart", restart.Rule);
        Assert.Equal(ActionStatus.Succeeded, restart.Status);
        Assert.Equal(Assert.Single(actions).Id, restart.Id);
        Assert.Contains(restart.Id, (await h.Store.GetIncidentAsync(incident.Id))!.ActionIds);
        // The sibling was untouched.
        Assert.Equal(0, h.Instance("web-1").Record.Restarts);
    }

    [Fact]
    public async Task Hang_IsCaughtByLiveness_KilledAndRestarted()
    {
        await using var h = new ControlPlaneHarness();
        await h.StartAsync(h.Fleet(Web(TestPorts.FreeRun(1), replicas: 1)));
        await h.WaitAllReadyAsync(Deadline);
        var before = h.Instance("web-0").Record.Pid!.Value;

        await h.Chaos.InjectAsync(Faults.Hang, "web");

        await h.WaitReadyAsync("web-0", Deadline, notPid: before);
        var incident = Assert.Single(await h.Store.ListIncidentsAsync(10));
        Assert.Equal("hang", incident.Cause);
        // Three failed probes 200 ms apart: detection comes at least two periods after the first failure.
        Assert.InRange(incident.TimeToDetect, TimeSpan.FromMilliseconds(350), TimeSpan.FromSeconds(3));
        var actions = await h.Store.ListActionsAsync(50, incident.Id);
        Assert.Contains(actions, a => a.Kind == "kill" && a.Rule == "lifecycle.alive.hang.kill" && a.Evidence["probe"] == "liveness");
        Assert.Contains(actions, a => a.Kind == "restart" && a.Status == ActionStatus.Succeeded);
        Assert.False(Process.GetProcesses().Any(p => p.Id == before && !p.HasExited), "the hung process was not killed");
    }

    [Fact]
    public async Task Leak_IsReplacedBeforeTheLimit_OneReplicaAtATime_NeverZeroReady()
    {
        await using var h = new ControlPlaneHarness();
        // A patient liveness probe: on a starved machine a leaking process can miss three 150 ms probes in a row, and
        // this test is about the leak being found from the memory trend, not about hang detection.
        var yaml = Web(TestPorts.FreeRun(2), replicas: 2)
            .Replace("    restart:", "    limits: {memory: 400Mi}\n    trends: {leak_horizon: 60s, min_samples: 5}\n    restart:", StringComparison.Ordinal)
            .Replace("period: 200ms, timeout: 150ms, failure_threshold: 3", "period: 1s, timeout: 1s, failure_threshold: 5", StringComparison.Ordinal);
        Assert.Contains("timeout: 1s, failure_threshold: 5", yaml, StringComparison.Ordinal);
        await h.StartAsync(h.Fleet(yaml));
        await h.WaitAllReadyAsync(Deadline);
        var before = h.Instance("web-0").Record.Pid!.Value;
        var minReady = int.MaxValue;
        void Watch(Agents.Fleet.LiveInstance _) => minReady = Math.Min(minReady, h.Registry.Snapshot().Count(i => i.Record.State == InstanceState.Ready));
        h.Registry.Changed += Watch;

        await h.Chaos.InjectAsync(Faults.Leak, "web/0");

        await h.WaitReadyAsync("web-0", Deadline, notPid: before);
        h.Registry.Changed -= Watch;
        var incident = Assert.Single(await h.Store.ListIncidentsAsync(10), i => i.InstanceId == "web-0");
        Assert.Equal("leak", incident.Cause);
        var replace = Assert.Single(await h.Store.ListActionsAsync(50, incident.Id), a => a.Kind == "replace");
        Assert.Equal("lifecycle.degraded.leak.replace", replace.Rule);
        Assert.True(long.Parse(replace.Evidence["rss_bytes"], System.Globalization.CultureInfo.InvariantCulture) < 400L * 1024 * 1024, "replaced only after the limit was hit");
        Assert.True(minReady >= 1, $"a replacement left {minReady} replicas ready");
    }

    [Fact]
    public async Task MissingCommand_GoesFatal_WithAnEscalatedIncident_AndNoRestartLoop()
    {
        await using var h = new ControlPlaneHarness();
        await h.StartAsync(h.Fleet("""
              ghost:
                command: /nonexistent/autonomic-ghost
            """));
        await Eventually.WaitAsync(() => h.Registry.Get("ghost-0")?.Record.State == InstanceState.Fatal, Deadline, "ghost-0 fatal");
        Assert.Contains("/nonexistent/autonomic-ghost", h.Instance("ghost-0").Record.Reason, StringComparison.Ordinal);
        var incident = Assert.Single(await h.Store.ListIncidentsAsync(10));
        Assert.Equal("launch_failed", incident.Cause);
        Assert.Equal(IncidentStatus.Escalated, incident.Status);
        Assert.True(incident.NeedsHuman);
        var starts = (await h.Store.ListActionsAsync(50)).Where(a => a.Kind is "start" or "restart").ToArray();
        Assert.Single(starts);
        Assert.Equal(ActionStatus.Failed, starts[0].Status);
    }

    [Fact]
    public async Task CrashLoop_SpendsTheBudget_ThenGoesFatal()
    {
        await using var h = new ControlPlaneHarness();
        await h.StartAsync(h.Fleet("""
              flaky:
                command: /bin/sh
                args: [-c, "exit 3"]
                restart: {backoff_initial: 10ms, backoff_max: 50ms, budget: 3, budget_window: 60s}
            """));
        await Eventually.WaitAsync(() => h.Registry.Get("flaky-0")?.Record.State == InstanceState.Fatal, Deadline, "flaky-0 fatal");
        var incident = Assert.Single(await h.Store.ListIncidentsAsync(10));
        Assert.Equal(IncidentStatus.Escalated, incident.Status);
        Assert.True(incident.NeedsHuman);
        var actions = await h.Store.ListActionsAsync(50);
        Assert.Equal(3, actions.Count(a => a.Kind == "restart"));
        Assert.Contains(actions, a => a.Kind == "escalate" && a.Rule == "lifecycle.budget_spent.fatal");
        Assert.Equal(3, h.Instance("flaky-0").Record.Restarts);
    }

    [Fact]
    public async Task RemediationRateLimit_HoldsRestartsOfAServiceOnceItsBucketIsEmpty()
    {
        await using var h = new ControlPlaneHarness();
        await h.StartAsync(h.Fleet("""
              flaky:
                command: /bin/sh
                args: [-c, "exit 3"]
                restart: {backoff_initial: 10ms, backoff_max: 20ms, budget: 100, rate_burst: 2, rate_per_minute: 0.01}
            """));
        var skipped = await Eventually.WaitAsync(async () =>
            (await h.Store.ListActionsAsync(50)).FirstOrDefault(a => a.Rule == "safety.remediation_rate_limit"), Deadline, "a rate-limited restart");
        Assert.Equal(ActionStatus.Skipped, skipped.Status);
        Assert.Equal(InstanceState.Backoff, h.Instance("flaky-0").Record.State);
        var actions = await h.Store.ListActionsAsync(50);
        Assert.Equal(2, actions.Count(a => a.Kind == "restart" && a.Status == ActionStatus.Succeeded));
        Assert.Single(actions, a => a.Rule == "safety.remediation_rate_limit");
    }

    [Fact]
    public async Task PortInUse_IsReportedWithThePort()
    {
        await using var h = new ControlPlaneHarness();
        var port = TestPorts.Free();
        using var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, port);
        squatter.Start();
        await h.StartAsync(h.Fleet(Web(port, replicas: 1)));
        var incident = await Eventually.WaitAsync(async () => (await h.Store.ListIncidentsAsync(10)) is { Count: > 0 } list ? list[0] : null, Deadline, "an incident");
        Assert.Equal("launch_failed", incident.Cause);
        Assert.Contains(port.ToString(System.Globalization.CultureInfo.InvariantCulture), incident.Summary, StringComparison.Ordinal);
        Assert.NotEqual(InstanceState.Ready, h.Instance("web-0").Record.State);
    }

    [Fact]
    public async Task ControlPlaneRestart_ReadoptsRunningInstances_WithoutDuplicates_AndKeepsIncidents()
    {
        await using var h = new ControlPlaneHarness();
        var fleet = h.Fleet(Web(TestPorts.FreeRun(2)));
        await h.StartAsync(fleet, leaveRunning: true);
        await h.WaitAllReadyAsync(Deadline);
        var crashed = h.Instance("web-1").Record.Pid!.Value;
        await h.Chaos.InjectAsync(Faults.Kill, "web-1");
        await h.WaitReadyAsync("web-1", Deadline, notPid: crashed);
        var pids = h.Registry.Snapshot().ToDictionary(i => i.Record.Id, i => i.Record.Pid);
        var incidents = await h.Store.ListIncidentsAsync(10);

        await h.StopPlaneAsync();
        foreach (var pid in pids.Values)
        {
            Assert.False(Process.GetProcessById(pid!.Value).HasExited);
        }

        await h.StartAsync(fleet);
        await h.WaitAllReadyAsync(Deadline);
        Assert.Equal(pids, h.Registry.Snapshot().ToDictionary(i => i.Record.Id, i => i.Record.Pid));
        Assert.Equal(incidents.Select(i => i.Id), (await h.Store.ListIncidentsAsync(10)).Select(i => i.Id));
        Assert.Contains(await h.Store.ListActionsAsync(50), a => a.Kind == "adopt");
        // Exactly one process per instance carries the instance's marker.
        foreach (var id in pids.Keys)
        {
            Assert.Single(ProcessesMarked(id, h.RunId));
        }

        // The adopted process is still supervised: killing it is healed by the new control plane.
        var adopted = pids["web-0"]!.Value;
        await h.Chaos.InjectAsync(Faults.Kill, "web-0");
        await h.WaitReadyAsync("web-0", Deadline, notPid: adopted);
    }

    private static IEnumerable<int> ProcessesMarked(string instanceId, string runId) =>
        Autonomic.Backends.Runtime.ProcFs.FindByEnvironment([$"AUTONOMIC_INSTANCE={instanceId}", $"{ControlPlaneHarness.RunMarker}={runId}"]);
}
