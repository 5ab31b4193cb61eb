using Autonomic.Cli.Load;
using Autonomic.Core.Model;
using Autonomic.Integration.Tests.ControlPlane;

namespace Autonomic.Integration.Tests.Scaling;

/// <summary>
/// The whole loop in one real control plane: load through the service's YARP load balancer, traffic samples to the
/// scaling agent, <c>service.scale</c> commands to the healer, real workload processes started and — after the load
/// drops — drained out of the load balancer and stopped, without a request failing.
/// </summary>
public sealed class ScalingEndToEndTests : IAsyncLifetime
{
    private readonly ControlPlaneHarness _harness = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private int Alive(string service) =>
        _harness.Registry.Snapshot().Count(i => i.Record.Service == service && InstanceStates.IsAlive(i.Record.State));

    private int Ready(string service) =>
        _harness.Registry.Snapshot().Count(i => i.Record.Service == service && i.Record.State == InstanceState.Ready);

    [Fact]
    public async Task Load_through_the_load_balancer_scales_the_service_up_and_it_drains_back_down_without_failures()
    {
        int lbPort = TestPorts.Free();
        int port = TestPorts.FreeRun(3);
        // A replica saturates at 50 req/s (1 ms of CPU and 19 ms of waiting, one at a time); the policy aims at 10.
        // Short windows so the test sees both directions in seconds: decide every 500 ms, scale down after 3 s lower.
        var fleet = _harness.Fleet($"""
              api:
                command: {ControlPlaneHarness.Workload}
                args: [--mode, web, --work-ms, "1", --work-wait-ms, "19", --work-slots, "1"]
                port: {port}
                replicas: 1
                health:
                  readiness: {"{"}http: /readyz, period: 200ms, timeout: 200ms{"}"}
                load_balancer: {"{"}port: {lbPort}, health_interval: 500ms, drain_timeout: 5s{"}"}
                scaling: {"{"}policy: hpa, min: 1, max: 3, target_requests_per_replica: 10, interval: 500ms, scale_down_stabilization: 3s{"}"}
                stop_grace: 3s
            """);
        await _harness.StartAsync(fleet);
        await _harness.WaitAllReadyAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(1, Alive("api"));
        var target = new Uri($"http://127.0.0.1:{lbPort}/work");

        // 40 req/s against a 10 req/s target wants 4; max is 3.
        var busy = new LoadGenerator(new LoadOptions { Target = target, Window = TimeSpan.FromSeconds(1) }, TimeProvider.System)
            .RunAsync(LoadProfile.Constant(40, TimeSpan.FromSeconds(15)), CancellationToken.None);
        await Eventually.WaitAsync(() => Ready("api") == 3, TimeSpan.FromSeconds(15), "api scaled up to 3 ready replicas under load");
        Assert.False(busy.IsCompleted, "the scale-up happened while the load ran");
        LoadReport up = await busy;
        Assert.Equal(0, up.Summary.Errors + up.Summary.Timeouts + up.Summary.Dropped);

        // Light load (2 req/s wants 1) that goes on while the extra replicas are drained and stopped.
        var light = new LoadGenerator(new LoadOptions { Target = target, Window = TimeSpan.FromSeconds(1) }, TimeProvider.System)
            .RunAsync(LoadProfile.Constant(2, TimeSpan.FromSeconds(25)), CancellationToken.None);
        await Eventually.WaitAsync(() => Alive("api") == 1, TimeSpan.FromSeconds(25), "api back to 1 replica after the load dropped");
        Assert.False(light.IsCompleted, "the scale-down happened while requests still arrived");
        LoadReport down = await light;
        Assert.True(down.Summary.Sent > 0);
        Assert.Equal(0, down.Summary.Errors + down.Summary.Timeouts + down.Summary.Dropped);

        var actions = await _harness.Store.ListActionsAsync(500);
        var scaler = actions.Where(a => a.Agent == "scaler" && a.Subject == "api" && a.Status == ActionStatus.Succeeded).ToList();
        var scaleUp = Assert.Single(scaler, a => a.Kind == "scale_up" && a.Reason.StartsWith("1 -> ", StringComparison.Ordinal));
        Assert.Equal("scaling.hpa", scaleUp.Rule);
        Assert.Contains("req/s", scaleUp.Reason, StringComparison.Ordinal);
        Assert.Contains(scaler, a => a.Kind == "scale_down" && a.Rule == "scaling.hpa" && a.Reason.Contains(" -> 1 replicas:", StringComparison.Ordinal));
        // The healer applied the scaler's commands as desired-state changes.
        var applied = actions.Where(a => a.Kind == "service.scale" && a.Subject == "api").Select(a => a.Reason).ToList();
        Assert.Contains(applied, r => r.Contains(" to 3 replicas (requested by scaler)", StringComparison.Ordinal));
        Assert.Contains(applied, r => r.Contains("scaled from 3 to 1 replicas (requested by scaler)", StringComparison.Ordinal)
            || r.Contains("scaled from 2 to 1 replicas (requested by scaler)", StringComparison.Ordinal));
    }
}
