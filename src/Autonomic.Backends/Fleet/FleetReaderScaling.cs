using Autonomic.Core.Specs;
using YamlDotNet.RepresentationModel;

namespace Autonomic.Backends.Fleet;

/// <summary>The <c>scaling:</c> section of a service and the <c>cost:</c> section of <c>control_plane</c>.</summary>
internal sealed partial class FleetReader
{
    private static readonly string[] ScalingKeys =
    [
        "policy", "min", "max", "target_utilization", "target_requests_per_replica", "target_queue_per_replica",
        "activation_threshold", "idle_cooldown", "oldest_age_target", "tolerance", "scale_up_stabilization",
        "scale_down_stabilization", "scale_up_cooldown", "scale_down_cooldown", "max_step", "start_time",
        "forecast_margin", "season", "step", "max_forecast_error", "interval",
    ];

    private static readonly string[] ScalingPolicyNames = ["none", "hpa", "predictive", "queue"];
    private static readonly string[] CostKeys = ["per_cpu_second", "per_gb_second", "per_replica_hour", "currency", "idle_after", "auto_apply", "headroom"];

    private ScalingSpec ReadScaling(Section s, ResourceLimits limits)
    {
        var d = new ScalingSpec();
        ScalingPolicyKind policy = d.Policy;
        if (s.TryGet("policy", out YamlNode? policyNode, out _))
        {
            string text = s.Text("policy", null)!;
            int index = Array.IndexOf(ScalingPolicyNames, text);
            policy = index >= 0 ? (ScalingPolicyKind)index : throw Fail(policyNode, s.Field("policy"), FleetValues.Unknown("scaling policy", text, ScalingPolicyNames));
        }

        var spec = new ScalingSpec
        {
            Policy = policy,
            Min = s.Int("min", 0, 100) ?? (policy == ScalingPolicyKind.Queue ? 0 : d.Min),
            Max = s.Int("max", 1, 100) ?? d.Max,
            TargetUtilization = s.Int("target_utilization", 1, 1000),
            TargetRequestsPerReplica = s.Double("target_requests_per_replica", 0.001, 1e9),
            TargetQueuePerReplica = s.Double("target_queue_per_replica", 0.001, 1e9) ?? d.TargetQueuePerReplica,
            ActivationThreshold = s.Int("activation_threshold", 0, 1_000_000_000) ?? d.ActivationThreshold,
            IdleCooldown = s.Duration("idle_cooldown", allowZero: true) ?? d.IdleCooldown,
            OldestAgeTarget = s.Duration("oldest_age_target", allowZero: false),
            Tolerance = s.Double("tolerance", 0, 0.99) ?? d.Tolerance,
            ScaleUpStabilization = s.Duration("scale_up_stabilization", allowZero: true) ?? d.ScaleUpStabilization,
            ScaleDownStabilization = s.Duration("scale_down_stabilization", allowZero: true) ?? d.ScaleDownStabilization,
            ScaleUpCooldown = s.Duration("scale_up_cooldown", allowZero: true) ?? d.ScaleUpCooldown,
            ScaleDownCooldown = s.Duration("scale_down_cooldown", allowZero: true) ?? d.ScaleDownCooldown,
            MaxStep = s.Int("max_step", 0, 100) ?? d.MaxStep,
            StartTime = s.Duration("start_time", allowZero: true) ?? d.StartTime,
            ForecastMargin = s.Duration("forecast_margin", allowZero: true) ?? d.ForecastMargin,
            Season = s.Duration("season", allowZero: false) ?? d.Season,
            Step = s.Duration("step", allowZero: false) ?? d.Step,
            MaxForecastError = s.Double("max_forecast_error", 0, 10) ?? d.MaxForecastError,
            Interval = s.Duration("interval", allowZero: false) ?? d.Interval,
        };

        YamlNode At(string key) => s.TryGet(key, out YamlNode? n, out _) ? n : s.Node;
        if (spec.Min > spec.Max)
        {
            throw Fail(At("min"), s.Field("min"), $"min ({spec.Min}) must not exceed max ({spec.Max})");
        }

        switch (policy)
        {
            case ScalingPolicyKind.Hpa when spec.TargetUtilization is null && spec.TargetRequestsPerReplica is null:
                throw Fail(s.Node, s.Field("target_utilization"), "the hpa policy needs target_utilization (percent of limits.cpus) or target_requests_per_replica");
            case ScalingPolicyKind.Predictive when spec.TargetRequestsPerReplica is null:
                throw Fail(s.Node, s.Field("target_requests_per_replica"), "the predictive policy needs target_requests_per_replica (what one replica serves)");
            case ScalingPolicyKind.Predictive when spec.Season < 2 * spec.Step:
                throw Fail(At("season"), s.Field("season"), "a season must hold at least two steps");
        }

        if (spec.TargetUtilization is not null && limits.Cpus is null)
        {
            // The HPA measures utilization against the CPU request: without one there is nothing to divide by.
            throw Fail(At("target_utilization"), s.Field("target_utilization"), "target_utilization is a percent of limits.cpus; set limits.cpus for this service");
        }

        return spec;
    }

    private CostSettings ReadCost(Section s)
    {
        var d = new CostSettings();
        return new CostSettings
        {
            PerCpuSecond = s.Double("per_cpu_second", 0, 1e6) ?? d.PerCpuSecond,
            PerGbSecond = s.Double("per_gb_second", 0, 1e6) ?? d.PerGbSecond,
            PerReplicaHour = s.Double("per_replica_hour", 0, 1e6) ?? d.PerReplicaHour,
            Currency = s.Text("currency", t => FleetValues.NonEmpty(t, "a currency like USD")) ?? d.Currency,
            IdleAfter = s.Duration("idle_after", allowZero: false) ?? d.IdleAfter,
            AutoApply = s.Bool("auto_apply") ?? d.AutoApply,
            Headroom = s.Double("headroom", 0, 10) ?? d.Headroom,
        };
    }
}
