using System.Collections.Concurrent;
using Autonomic.Agents.Healing;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Microsoft.Extensions.DependencyInjection;

namespace Autonomic.Integration.Tests.ControlPlane;

/// <summary>Desired-state commands on the bus (service.apply|scale|restart|delete) applied by the healer to real processes.</summary>
[Collection("control-plane")]
public sealed class DesiredStateTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private static string Web(int port, int replicas) => $"""
          web:
            command: {ControlPlaneHarness.Workload}
            port: {port}
            replicas: {replicas}
            health:
              readiness: {"{"}http: /readyz, period: 100ms, timeout: 90ms{"}"}
            restart: {"{"}backoff_initial: 100ms, reset_after: 1s{"}"}
        """;

    private static Task SendAsync(ControlPlaneHarness h, string type, object data) =>
        h.Plane.Services.GetRequiredService<IEventBus>().PublishAsync(CloudEvent.Create("/test", type, null, DateTimeOffset.UtcNow, data)).AsTask();

    private static Task WaitCountAsync(ControlPlaneHarness h, int ready, int total) =>
        Eventually.WaitAsync(() =>
        {
            var all = h.Registry.Snapshot().Where(i => i.Record.Service == "web").ToList();
            return all.Count == total && all.Count(i => i.Record.State == InstanceState.Ready) == ready;
        }, Deadline, $"{ready} of {total} web instances ready");

    private static bool Alive(int pid) => Directory.Exists($"/proc/{pid}") && !File.ReadAllText($"/proc/{pid}/stat").Contains(") Z ", StringComparison.Ordinal);

    [Fact]
    public async Task ScaleUp_StartsNewInstances_ScaleDown_DrainsThenStopsTheHighestNumbered()
    {
        await using var h = new ControlPlaneHarness();
        await h.StartAsync(h.Fleet(Web(TestPorts.FreeRun(3), replicas: 1)));
        await WaitCountAsync(h, ready: 1, total: 1);
        var drained = new ConcurrentQueue<(string Id, InstanceState StateWhenDrained, bool AliveWhenDrained)>();
        var healer = h.Plane.Services.GetRequiredService<HealerAgent>();
        healer.Drain = (id, _, _) =>
        {
            var live = h.Registry.Get(id);
            drained.Enqueue((id, live?.Record.State ?? InstanceState.Stopped, live?.Record.Pid is { } p && Alive(p)));
            return Task.CompletedTask;
        };

        await SendAsync(h, EventTypes.ServiceScale, new ServiceCommand("web", 3, "load", "test"));
        await WaitCountAsync(h, ready: 3, total: 3);
        var pids = h.Registry.Snapshot().ToDictionary(i => i.Record.Id, i => i.Record.Pid!.Value);

        await SendAsync(h, EventTypes.ServiceScale, new ServiceCommand("web", 1, "quiet", "test"));
        await WaitCountAsync(h, ready: 1, total: 1);

        Assert.Equal(pids["web-0"], h.Instance("web-0").Record.Pid);
        await Eventually.WaitAsync(() => !Alive(pids["web-1"]) && !Alive(pids["web-2"]), Deadline, "scaled-down processes gone");
        Assert.Equal(["web-0"], (await h.Store.ListInstancesAsync()).Select(r => r.Id));
        // Each removed instance was drained while still running, after it had left READY (so no new request reached it).
        Assert.Equal(["web-1", "web-2"], drained.Select(d => d.Id).Order(StringComparer.Ordinal));
        Assert.All(drained, d => Assert.Equal(InstanceState.Stopping, d.StateWhenDrained));
        Assert.All(drained, d => Assert.True(d.AliveWhenDrained));

        var actions = await h.Store.ListActionsAsync(100);
        Assert.Equal(2, actions.Count(a => a.Kind == "service.scale" && a.Subject == "web"));
        Assert.Contains(actions, a => a.Kind == "service.scale" && a.Evidence["from"] == "3" && a.Evidence["to"] == "1" && a.Evidence["reason"] == "quiet");
        Assert.Equal(2, actions.Count(a => a.Kind == "stop" && a.Status == ActionStatus.Succeeded));
        Assert.Equal(1, (await h.Store.ListServicesAsync()).Single(s => s.Name == "web").Replicas);
    }

    [Fact]
    public async Task Restart_ReplacesEveryInstance_OneAtATime_NeverZeroReady()
    {
        await using var h = new ControlPlaneHarness();
        await h.StartAsync(h.Fleet(Web(TestPorts.FreeRun(2), replicas: 2)));
        await WaitCountAsync(h, ready: 2, total: 2);
        var before = h.Registry.Snapshot().ToDictionary(i => i.Record.Id, i => i.Record.Pid!.Value);
        var minReady = int.MaxValue;
        h.Registry.Changed += _ => minReady = Math.Min(minReady, h.Registry.Snapshot().Count(i => i.Record.State == InstanceState.Ready));

        await SendAsync(h, EventTypes.ServiceRestart, new ServiceCommand("web", RequestedBy: "test"));

        await Eventually.WaitAsync(() => h.Registry.Snapshot() is { Count: 2 } all
            && all.All(i => i.Record.State == InstanceState.Ready && i.Record.Pid != before[i.Record.Id]), Deadline, "both instances replaced and ready");
        Assert.True(minReady >= 1, $"ready replicas fell to {minReady} during the restart");
        Assert.Empty(await h.Store.ListIncidentsAsync(10));
        Assert.Contains(await h.Store.ListActionsAsync(50), a => a.Kind == "service.restart" && a.Subject == "web");
    }

    [Fact]
    public async Task Apply_CreatesAService_Delete_StopsItAndForgetsIt_AndBothSurviveARestartOfTheControlPlane()
    {
        await using var h = new ControlPlaneHarness();
        var fleet = h.Fleet(Web(TestPorts.FreeRun(1), replicas: 1));
        await h.StartAsync(fleet);
        await WaitCountAsync(h, ready: 1, total: 1);
        var apiPort = TestPorts.FreeRun(2);
        var api = fleet.Services[0] with { Name = "api", Port = apiPort, Replicas = 2 };

        await SendAsync(h, EventTypes.ServiceApply, api);
        await Eventually.WaitAsync(() => h.Registry.Snapshot().Count(i => i.Record.Service == "api" && i.Record.State == InstanceState.Ready) == 2, Deadline, "api instances ready");
        Assert.Contains(await h.Store.ListServicesAsync(), s => s.Name == "api");

        // A restart of the control plane keeps the service created through the API, and a deletion of one from the file.
        await SendAsync(h, EventTypes.ServiceDelete, new ServiceCommand("web", RequestedBy: "test"));
        await Eventually.WaitAsync(() => h.Registry.Snapshot().All(i => i.Record.Service != "web"), Deadline, "web gone");
        await h.StopPlaneAsync();
        await h.StartAsync(fleet);
        await Eventually.WaitAsync(() => h.Registry.Snapshot().Count(i => i.Record.Service == "api" && i.Record.State == InstanceState.Ready) == 2, Deadline, "api instances ready after restart");
        Assert.DoesNotContain(h.Registry.Snapshot(), i => i.Record.Service == "web");
        Assert.DoesNotContain(await h.Store.ListServicesAsync(), s => s.Name == "web");

        var pids = h.Registry.Snapshot().Select(i => i.Record.Pid!.Value).ToList();
        await SendAsync(h, EventTypes.ServiceDelete, new ServiceCommand("api", RequestedBy: "test"));
        await Eventually.WaitAsync(() => h.Registry.Snapshot().Count == 0 && pids.All(p => !Alive(p)), Deadline, "api stopped and forgotten");
        Assert.Empty(await h.Store.ListInstancesAsync());
        Assert.Empty(await h.Store.ListServicesAsync());
    }
}
