using Autonomic.Backends.Fleet;
using Autonomic.Core.Specs;

namespace Autonomic.Integration.Tests.Scaling;

/// <summary>The <c>scaling:</c> and <c>cost:</c> sections of the fleet file.</summary>
public sealed class ScalingFleetFileTests
{
    private static readonly Dictionary<string, string?> NoEnv = new(StringComparer.Ordinal);

    [Fact]
    public void Scaling_and_cost_sections_are_read_with_defaults()
    {
        var fleet = FleetFile.Parse("""
            control_plane:
              cost: {per_cpu_second: 0.00002, per_replica_hour: 0.05, currency: EUR, idle_after: 15m, auto_apply: true}
            services:
              web:
                command: /bin/true
                limits: {cpus: 0.5}
                scaling: {policy: hpa, min: 2, max: 8, target_utilization: 60, interval: 2s}
              api:
                command: /bin/true
                scaling: {policy: predictive, target_requests_per_replica: 50, start_time: 20s, season: 1h, step: 1m}
              jobs:
                command: /bin/true
                scaling: {policy: queue, target_queue_per_replica: 10, idle_cooldown: 2m, oldest_age_target: 30s}
              plain:
                command: /bin/true
            """, "autonomic.yaml", NoEnv);
        var cost = fleet.Settings.Cost;
        Assert.Equal((0.00002, 0.05, "EUR", TimeSpan.FromMinutes(15), true), (cost.PerCpuSecond, cost.PerReplicaHour, cost.Currency, cost.IdleAfter, cost.AutoApply));
        var web = fleet.Services.Single(s => s.Name == "web").Scaling!;
        Assert.Equal((ScalingPolicyKind.Hpa, 2, 8, 60, TimeSpan.FromSeconds(2)), (web.Policy, web.Min, web.Max, web.TargetUtilization, web.Interval));
        Assert.Equal(TimeSpan.FromSeconds(300), web.ScaleDownStabilization);
        var api = fleet.Services.Single(s => s.Name == "api").Scaling!;
        Assert.Equal((ScalingPolicyKind.Predictive, 50.0, TimeSpan.FromSeconds(20), TimeSpan.FromHours(1)), (api.Policy, api.TargetRequestsPerReplica, api.StartTime, api.Season));
        var jobs = fleet.Services.Single(s => s.Name == "jobs").Scaling!;
        Assert.Equal((ScalingPolicyKind.Queue, 0, 10.0, TimeSpan.FromSeconds(30)), (jobs.Policy, jobs.Min, jobs.TargetQueuePerReplica, jobs.OldestAgeTarget));
        Assert.Null(fleet.Services.Single(s => s.Name == "plain").Scaling);
    }

    [Theory]
    [InlineData("scaling: {policy: hap, target_requests_per_replica: 5}", 5, "services.web.scaling.policy", "did you mean \"hpa\"?")]
    [InlineData("scaling: {min: 5, max: 2, target_requests_per_replica: 5}", 5, "services.web.scaling.min", "must not exceed max")]
    [InlineData("scaling: {policy: hpa}", 5, "services.web.scaling.target_utilization", "needs target_utilization")]
    [InlineData("scaling: {target_utilization: 50}", 5, "services.web.scaling.target_utilization", "set limits.cpus")]
    [InlineData("scaling: {policy: predictive}", 5, "services.web.scaling.target_requests_per_replica", "needs target_requests_per_replica")]
    [InlineData("scaling: {target_requests_per_replica: 5, interval: soon}", 5, "services.web.scaling.interval", "expected a duration")]
    [InlineData("scaling: {target_requests_per_replica: 5, maxstep: 2}", 5, "services.web.scaling.maxstep", "did you mean \"max_step\"?")]
    public void Scaling_errors_name_the_line_and_field(string section, int line, string field, string reason)
    {
        var yaml = $"""
            services:
              web:
                command: /bin/true
                replicas: 1
                {section}
            """;
        var ex = Assert.Throws<FleetFileException>(() => FleetFile.Parse(yaml, "autonomic.yaml", NoEnv));
        Assert.Equal(field, ex.Field);
        Assert.Equal(line, ex.Line);
        Assert.Contains(reason, ex.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Cost_errors_name_the_field()
    {
        var ex = Assert.Throws<FleetFileException>(() => FleetFile.Parse("control_plane:\n  cost: {per_cpu_second: -1}\nservices: {}\n", "autonomic.yaml", NoEnv));
        Assert.Equal("control_plane.cost.per_cpu_second", ex.Field);
        Assert.Equal(2, ex.Line);
    }
}
