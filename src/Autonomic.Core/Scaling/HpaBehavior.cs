namespace Autonomic.Core.Scaling;

/// <summary>The unit of a scaling policy: a number of pods, or a percent of the replicas at the start of the period.</summary>
public enum HpaPolicyType
{
    Pods,
    Percent,
}

/// <summary>How the limits of several policies combine (the HPA's <c>selectPolicy</c>).</summary>
public enum HpaSelectPolicy
{
    /// <summary>The policy allowing the largest change.</summary>
    Max,
    /// <summary>The policy allowing the smallest change.</summary>
    Min,
    /// <summary>No scaling in this direction.</summary>
    Disabled,
}

/// <summary>At most <see cref="Value"/> pods (or percent) of change within any <see cref="PeriodSeconds"/>.</summary>
public sealed record HpaScalingPolicy(HpaPolicyType Type, int Value, int PeriodSeconds);

/// <summary>The rules for one direction: a stabilization window and rate policies, as in <c>HPAScalingRules</c>.</summary>
public sealed record HpaScalingRules
{
    public int StabilizationWindowSeconds { get; init; }
    public HpaSelectPolicy SelectPolicy { get; init; } = HpaSelectPolicy.Max;
    public IReadOnlyList<HpaScalingPolicy> Policies { get; init; } = [];

    /// <summary>Kubernetes' default for scale-up: no stabilization, max(100% per 15 s, 4 pods per 15 s).</summary>
    public static HpaScalingRules DefaultScaleUp { get; } = new()
    {
        StabilizationWindowSeconds = 0,
        SelectPolicy = HpaSelectPolicy.Max,
        Policies = [new(HpaPolicyType.Pods, 4, 15), new(HpaPolicyType.Percent, 100, 15)],
    };

    /// <summary>Kubernetes' default for scale-down: a 300 s stabilization window, 100% per 15 s.</summary>
    public static HpaScalingRules DefaultScaleDown { get; } = new()
    {
        StabilizationWindowSeconds = 300,
        SelectPolicy = HpaSelectPolicy.Max,
        Policies = [new(HpaPolicyType.Percent, 100, 15)],
    };

    internal int LongestPeriodSeconds => Policies.Count == 0 ? 0 : Policies.Max(p => p.PeriodSeconds);
}

/// <summary>What <see cref="HpaBehavior.Normalize"/> answered and why (the HPA's condition reason).</summary>
public sealed record HpaNormalized(int Replicas, int Stabilized, string Reason);

/// <summary>
/// The HPA controller's <c>normalizeDesiredReplicasWithBehaviors</c> for one target: the raw recommendation is
/// stabilized (scale-up takes the lowest recommendation of its window, scale-down the highest of its), then limited by
/// the rate policies against the scale events of each policy's period, then by min and max. The state (recent
/// recommendations and scale events) lives here; time comes in as <c>now</c>, so it is pure in everything but its
/// own memory. Not thread-safe: one per service, driven by one loop.
/// </summary>
public sealed class HpaBehavior(HpaScalingRules? scaleUp = null, HpaScalingRules? scaleDown = null)
{
    private readonly List<(int Replicas, DateTimeOffset At)> _recommendations = [];
    private readonly List<(int Change, DateTimeOffset At)> _upEvents = [];
    private readonly List<(int Change, DateTimeOffset At)> _downEvents = [];

    public HpaScalingRules ScaleUp { get; } = scaleUp ?? HpaScalingRules.DefaultScaleUp;

    public HpaScalingRules ScaleDown { get; } = scaleDown ?? HpaScalingRules.DefaultScaleDown;

    /// <summary>
    /// The replica count to set now, given the current count and the calculator's raw <paramref name="desired"/>.
    /// Records the recommendation; call <see cref="RecordScale"/> when the count is actually changed.
    /// </summary>
    public HpaNormalized Normalize(DateTimeOffset now, int current, int desired, int minReplicas, int maxReplicas)
    {
        int stabilized = Stabilize(now, current, desired);
        string reason = stabilized != desired
            ? desired >= current ? "ScaleUpStabilized" : "ScaleDownStabilized"
            : "ReadyForNewScale";
        var (limited, limitReason) = LimitByRate(now, current, stabilized, minReplicas, maxReplicas);
        return new HpaNormalized(limited, stabilized, limitReason ?? reason);
    }

    /// <summary>Remembers a change of the replica count, for the rate policies.</summary>
    public void RecordScale(DateTimeOffset now, int from, int to)
    {
        if (to > from)
        {
            Prune(_upEvents, now, ScaleUp.LongestPeriodSeconds);
            _upEvents.Add((to - from, now));
        }
        else if (to < from)
        {
            Prune(_downEvents, now, ScaleDown.LongestPeriodSeconds);
            _downEvents.Add((from - to, now));
        }
    }

    private int Stabilize(DateTimeOffset now, int current, int desired)
    {
        if (_recommendations.Count == 0)
        {
            // maybeInitScaleDownStabilizationWindow: a new autoscaler starts with the current count in its window, so
            // it does not scale down the moment it starts.
            _recommendations.Add((current, now));
        }

        var upCutoff = now.AddSeconds(-ScaleUp.StabilizationWindowSeconds);
        var downCutoff = now.AddSeconds(-ScaleDown.StabilizationWindowSeconds);
        int upRecommendation = desired;
        int downRecommendation = desired;
        foreach (var (replicas, at) in _recommendations)
        {
            if (at > upCutoff)
            {
                upRecommendation = Math.Min(replicas, upRecommendation);
            }

            if (at > downCutoff)
            {
                downRecommendation = Math.Max(replicas, downRecommendation);
            }
        }

        int recommendation = current;
        if (recommendation < upRecommendation)
        {
            recommendation = upRecommendation;
        }

        if (recommendation > downRecommendation)
        {
            recommendation = downRecommendation;
        }

        // Recommendations older than both windows are of no further use (the controller reuses their slots).
        _recommendations.RemoveAll(r => r.At < upCutoff && r.At < downCutoff);
        _recommendations.Add((desired, now));
        return recommendation;
    }

    private (int Replicas, string? Reason) LimitByRate(DateTimeOffset now, int current, int desired, int minReplicas, int maxReplicas)
    {
        if (desired > current)
        {
            int limit = ScaleUpLimit(now, current);
            if (limit < current)
            {
                limit = current;
            }

            (int maximum, string reason) = maxReplicas > limit ? (limit, "ScaleUpLimit") : (maxReplicas, "TooManyReplicas");
            return desired > maximum ? (maximum, reason) : (desired, null);
        }

        if (desired < current)
        {
            int limit = ScaleDownLimit(now, current);
            if (limit > current)
            {
                limit = current;
            }

            (int minimum, string reason) = minReplicas < limit ? (limit, "ScaleDownLimit") : (minReplicas, "TooFewReplicas");
            return desired < minimum ? (minimum, reason) : (desired, null);
        }

        return (desired, null);
    }

    private int ScaleUpLimit(DateTimeOffset now, int current)
    {
        if (ScaleUp.SelectPolicy == HpaSelectPolicy.Disabled)
        {
            return current;
        }

        bool min = ScaleUp.SelectPolicy == HpaSelectPolicy.Min;
        int result = min ? int.MaxValue : int.MinValue;
        foreach (var policy in ScaleUp.Policies)
        {
            int periodStart = current - ChangeWithin(_upEvents, now, policy.PeriodSeconds) + ChangeWithin(_downEvents, now, policy.PeriodSeconds);
            int proposed = policy.Type == HpaPolicyType.Pods
                ? periodStart + policy.Value
                // Rounded up, or a small count could never grow by a percent.
                : (int)Math.Ceiling(periodStart * (1 + (policy.Value / 100.0)));
            result = min ? Math.Min(result, proposed) : Math.Max(result, proposed);
        }

        return ScaleUp.Policies.Count == 0 ? current : result;
    }

    private int ScaleDownLimit(DateTimeOffset now, int current)
    {
        if (ScaleDown.SelectPolicy == HpaSelectPolicy.Disabled)
        {
            return current;
        }

        bool min = ScaleDown.SelectPolicy == HpaSelectPolicy.Min;
        int result = min ? int.MinValue : int.MaxValue;
        foreach (var policy in ScaleDown.Policies)
        {
            int periodStart = current - ChangeWithin(_upEvents, now, policy.PeriodSeconds) + ChangeWithin(_downEvents, now, policy.PeriodSeconds);
            int proposed = policy.Type == HpaPolicyType.Pods
                ? periodStart - policy.Value
                : (int)(periodStart * (1 - (policy.Value / 100.0)));
            result = min ? Math.Max(result, proposed) : Math.Min(result, proposed);
        }

        return ScaleDown.Policies.Count == 0 ? current : result;
    }

    private static int ChangeWithin(List<(int Change, DateTimeOffset At)> events, DateTimeOffset now, int periodSeconds)
    {
        var cutoff = now.AddSeconds(-periodSeconds);
        int sum = 0;
        foreach (var (change, at) in events)
        {
            if (at > cutoff)
            {
                sum += change;
            }
        }

        return sum;
    }

    private static void Prune(List<(int Change, DateTimeOffset At)> events, DateTimeOffset now, int longestPeriodSeconds) =>
        events.RemoveAll(e => e.At <= now.AddSeconds(-longestPeriodSeconds));
}
