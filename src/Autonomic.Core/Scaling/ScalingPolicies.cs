using System.Globalization;
using Autonomic.Core.Specs;

namespace Autonomic.Core.Scaling;

/// <summary>
/// The shared frame of the policies: notices counts changed by others, adds a requested minimum, holds the answer
/// to <see cref="ScalingBounds"/> and writes the decision with its inputs. Subclasses only say what they want.
/// </summary>
public abstract class ScalingPolicyBase : IScalingPolicy
{
    private int? _lastDecided;
    private DateTimeOffset? _lastChange;

    protected ScalingPolicyBase(ScalingBounds bounds)
    {
        Bounds = (bounds ?? throw new ArgumentNullException(nameof(bounds))).Validated();
    }

    public abstract string Name { get; }

    public ScalingBounds Bounds { get; }

    public ScalingDecision Decide(ScalingInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (_lastDecided is { } last && last != input.CurrentReplicas)
        {
            // Someone else changed the count (an operator, another agent): that counts as a change, for cooldowns and rates.
            Changed(input.Now, last, input.CurrentReplicas);
        }

        var inputs = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["current_replicas"] = Show(input.CurrentReplicas),
        };
        if (input.Traffic is { } t)
        {
            inputs["requests_per_second"] = Show(t.RequestsPerSecond);
            inputs["latency_ms_p95"] = Show(t.LatencyMsP95);
            inputs["ready_replicas"] = Show(t.ReadyReplicas);
        }

        var (desired, reason) = Desire(input, inputs);
        if (input.RequestedMinimum is { } floor && floor > desired)
        {
            inputs["requested_minimum"] = Show(floor);
            (desired, reason) = (floor, $"{reason}; raised to the requested minimum {floor}");
        }

        var (to, limit) = Bounds.Apply(input.CurrentReplicas, desired, input.Now, _lastChange);
        inputs["desired"] = Show(desired);
        if (limit is not null)
        {
            reason = $"{reason}; held to {to} by {limit}";
        }

        if (to != input.CurrentReplicas)
        {
            Changed(input.Now, input.CurrentReplicas, to);
        }

        _lastDecided = to;
        return new ScalingDecision(input.Service, input.CurrentReplicas, to, Name, reason, inputs) { At = input.Now };
    }

    /// <summary>The count this policy wants before bounds, and why; may add to <paramref name="inputs"/>.</summary>
    protected abstract (int Desired, string Reason) Desire(ScalingInput input, IDictionary<string, string> inputs);

    /// <summary>The count changed at <paramref name="at"/>.</summary>
    protected virtual void OnChanged(DateTimeOffset at, int from, int to)
    {
    }

    private void Changed(DateTimeOffset at, int from, int to)
    {
        _lastChange = at;
        OnChanged(at, from, to);
    }

    protected static string Show(double value) => Math.Round(value, 3).ToString(CultureInfo.InvariantCulture);
}

/// <summary>Always the same count: the over-provisioned baseline (e.g. max replicas all the time).</summary>
public sealed class FixedPolicy(int replicas, ScalingBounds? bounds = null)
    : ScalingPolicyBase(bounds ?? new ScalingBounds { Min = Math.Min(replicas, 1), Max = Math.Max(replicas, 1) })
{
    public override string Name => "fixed";

    protected override (int Desired, string Reason) Desire(ScalingInput input, IDictionary<string, string> inputs) =>
        (replicas, $"fixed at {replicas}");
}

/// <summary>Options of <see cref="HpaPolicy"/>: one metric target, the tolerance and the behavior.</summary>
public sealed record HpaPolicyOptions
{
    public ScalingBounds Bounds { get; init; } = new();
    /// <summary>CPU target in percent of request (needs <see cref="ScalingInput.Pods"/>).</summary>
    public int? TargetUtilization { get; init; }
    /// <summary>Requests per second per replica (needs <see cref="ScalingInput.Traffic"/>).</summary>
    public double? TargetRequestsPerReplica { get; init; }
    public double Tolerance { get; init; } = HpaReplicaCalculator.DefaultTolerance;
    public HpaScalingRules ScaleUp { get; init; } = HpaScalingRules.DefaultScaleUp;
    public HpaScalingRules ScaleDown { get; init; } = HpaScalingRules.DefaultScaleDown;
}

/// <summary>
/// The Kubernetes HorizontalPodAutoscaler: <see cref="HpaReplicaCalculator"/> for the raw count, then
/// <see cref="HpaBehavior"/> (stabilization, rate policies, min/max). With both targets set, the larger answer wins,
/// as the HPA does over several metrics.
/// </summary>
public sealed class HpaPolicy : ScalingPolicyBase
{
    private readonly HpaPolicyOptions _options;
    private readonly HpaBehavior _behavior;

    public HpaPolicy(HpaPolicyOptions options)
        : base((options ?? throw new ArgumentNullException(nameof(options))).Bounds)
    {
        if (options.TargetUtilization is null && options.TargetRequestsPerReplica is null)
        {
            throw new ArgumentException("an HPA policy needs target_utilization or target_requests_per_replica", nameof(options));
        }

        _options = options;
        _behavior = new HpaBehavior(options.ScaleUp, options.ScaleDown);
    }

    public override string Name => "hpa";

    protected override (int Desired, string Reason) Desire(ScalingInput input, IDictionary<string, string> inputs)
    {
        int current = input.CurrentReplicas;
        if (current > Bounds.Max)
        {
            return (Bounds.Max, $"current {current} is above max {Bounds.Max}");
        }

        if (current < Bounds.Min)
        {
            return (Bounds.Min, $"current {current} is below min {Bounds.Min}");
        }

        var raw = RawDesired(input, inputs, _options);
        if (raw is null)
        {
            return (current, "no metrics yet; keeping the count");
        }

        return Normalize(input, inputs, raw.Value.Replicas, raw.Value.Reason);
    }

    internal (int Desired, string Reason) Normalize(ScalingInput input, IDictionary<string, string> inputs, int raw, string why)
    {
        var n = _behavior.Normalize(input.Now, input.CurrentReplicas, raw, Bounds.Min, Bounds.Max);
        inputs["raw_desired"] = Show(raw);
        inputs["stabilized"] = Show(n.Stabilized);
        string reason = n.Replicas == raw ? why : $"{why}; {n.Reason}: {raw} -> {n.Replicas}";
        return (n.Replicas, reason);
    }

    protected override void OnChanged(DateTimeOffset at, int from, int to) => _behavior.RecordScale(at, from, to);

    /// <summary>The calculator's count over the configured metrics (the largest), or null when none can be computed.</summary>
    internal static (int Replicas, string Reason)? RawDesired(ScalingInput input, IDictionary<string, string> inputs, HpaPolicyOptions options)
    {
        (int Replicas, string Reason)? best = null;
        if (options.TargetUtilization is { } target && input.Pods.Count > 0)
        {
            inputs["target_utilization"] = Show(target);
            try
            {
                var r = HpaReplicaCalculator.ResourceReplicas(input.CurrentReplicas, target, input.Pods, options.Tolerance);
                inputs["utilization"] = Show(r.Utilization);
                best = (r.DesiredReplicas, $"cpu utilization {r.Utilization}% vs target {target}% ({r.Reason})");
            }
            catch (HpaCalculationException ex)
            {
                inputs["cpu_error"] = ex.Message;
            }
        }

        if (options.TargetRequestsPerReplica is { } perReplica && input.Traffic is { } traffic)
        {
            inputs["target_requests_per_replica"] = Show(perReplica);
            var r = HpaReplicaCalculator.ExternalPerPodReplicas(input.CurrentReplicas, traffic.RequestsPerSecond, perReplica, options.Tolerance);
            var candidate = (r.DesiredReplicas, $"{Show(traffic.RequestsPerSecond)} req/s vs {Show(perReplica)} per replica ({r.Reason})");
            if (best is null || candidate.DesiredReplicas > best.Value.Replicas)
            {
                best = candidate;
            }
        }

        return best;
    }
}

/// <summary>Options of <see cref="PredictivePolicy"/>.</summary>
public sealed record PredictiveOptions
{
    public ScalingBounds Bounds { get; init; } = new();
    /// <summary>Requests per second one replica carries: replicas = ceil(forecast / this).</summary>
    public required double CapacityPerReplica { get; init; }
    /// <summary>Time from asking for a replica to it serving: the forecast looks this far ahead...</summary>
    public TimeSpan StartTime { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>... plus this.</summary>
    public TimeSpan Margin { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>The series' step; observations within one step are averaged.</summary>
    public TimeSpan Step { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Steps per season.</summary>
    public int SeasonLength { get; init; } = 288;
    /// <summary>Fixed smoothing parameters; null: fitted on the history each season.</summary>
    public HoltWintersParameters? Parameters { get; init; }
    /// <summary>Above this recent forecast error (weighted absolute percentage error) only the reactive answer is used.</summary>
    public double MaxForecastError { get; init; } = 0.25;
    /// <summary>Forecasts compared with what happened to compute the recent error.</summary>
    public int ErrorWindow { get; init; } = 12;
    /// <summary>Seasons of history kept.</summary>
    public int SeasonsKept { get; init; } = 4;
    public double Tolerance { get; init; } = HpaReplicaCalculator.DefaultTolerance;
    public HpaScalingRules ScaleUp { get; init; } = HpaScalingRules.DefaultScaleUp;
    public HpaScalingRules ScaleDown { get; init; } = HpaScalingRules.DefaultScaleDown;
}

/// <summary>
/// Predictive scaling: the request rate is averaged per step into a series, Holt-Winters forecasts it up to
/// now + start time + margin, and replicas = ceil(forecast / capacity per replica) — so capacity is ready before a
/// ramp arrives. The reactive HPA answer on the observed rate is always computed; while the recent forecast error is
/// at most <see cref="PredictiveOptions.MaxForecastError"/> the larger of both is taken, otherwise only the reactive one.
/// </summary>
public sealed class PredictivePolicy : ScalingPolicyBase
{
    private const int MinErrorSamples = 3;
    private readonly PredictiveOptions _options;
    private readonly HoltWinters _model;
    private readonly HpaPolicyOptions _reactive;
    private readonly HpaBehavior _behavior;
    private readonly List<double> _series = [];
    private readonly Dictionary<long, double> _forecasts = [];
    private readonly Queue<(double Actual, double Forecast)> _errors = new();
    private DateTimeOffset? _origin;
    private long _bucket = -1;
    private double _bucketSum;
    private int _bucketCount;
    private int _fittedAt = -1;

    public PredictivePolicy(PredictiveOptions options)
        : base((options ?? throw new ArgumentNullException(nameof(options))).Bounds)
    {
        if (options.CapacityPerReplica <= 0)
        {
            throw new ArgumentException("the capacity per replica must be above 0", nameof(options));
        }

        if (options.Step <= TimeSpan.Zero)
        {
            throw new ArgumentException("the step must be above 0", nameof(options));
        }

        _options = options;
        _model = new HoltWinters(options.SeasonLength, options.Parameters);
        _reactive = new HpaPolicyOptions { Bounds = options.Bounds, TargetRequestsPerReplica = options.CapacityPerReplica, Tolerance = options.Tolerance };
        _behavior = new HpaBehavior(options.ScaleUp, options.ScaleDown);
    }

    public override string Name => "predictive";

    /// <summary>The recent forecast error (weighted absolute percentage error), or null before enough forecasts were checked.</summary>
    public double? RecentError => _errors.Count < MinErrorSamples ? null : WeightedError();

    /// <summary>Points of the series so far (closed steps).</summary>
    public int HistoryLength => _series.Count;

    protected override (int Desired, string Reason) Desire(ScalingInput input, IDictionary<string, string> inputs)
    {
        int current = input.CurrentReplicas;
        if (input.Traffic is { } traffic)
        {
            Observe(input.Now, traffic.RequestsPerSecond);
        }

        var reactive = HpaPolicy.RawDesired(input, inputs, _reactive);
        int reactiveReplicas = reactive?.Replicas ?? current;
        inputs["reactive_desired"] = Show(reactiveReplicas);
        string why = reactive?.Reason ?? "no traffic yet";
        int raw = reactiveReplicas;

        if (_model.CanForecast(_series.Count))
        {
            if (_options.Parameters is null && _series.Count / _model.SeasonLength != _fittedAt)
            {
                _fittedAt = _series.Count / _model.SeasonLength;
                _model.Fit(_series);
            }

            double forecast = ForecastAhead(input.Now);
            int predicted = (int)Math.Ceiling(Math.Max(0, forecast) / _options.CapacityPerReplica);
            inputs["forecast_requests_per_second"] = Show(forecast);
            inputs["predictive_desired"] = Show(predicted);
            double? error = RecentError;
            inputs["forecast_error"] = error is { } e ? Show(e) : "unknown";
            if (error is { } err && err <= _options.MaxForecastError)
            {
                raw = Math.Max(predicted, reactiveReplicas);
                why = predicted >= reactiveReplicas
                    ? $"forecast {Show(forecast)} req/s at +{_options.StartTime.TotalSeconds + _options.Margin.TotalSeconds:0}s needs {predicted} (recent error {err:P0})"
                    : $"{why}; above the forecast's {predicted}";
            }
            else
            {
                why = error is null
                    ? $"{why}; forecast not yet checked against traffic, reactive only"
                    : $"{why}; forecast error {error:P0} above {_options.MaxForecastError:P0}, reactive only";
            }
        }
        else
        {
            inputs["history_steps"] = Show(_series.Count);
            why = $"{why}; {_series.Count} of {2 * _model.SeasonLength} steps of history for a forecast, reactive only";
        }

        if (current > Bounds.Max || current < Bounds.Min)
        {
            return (Math.Clamp(current, Bounds.Min, Bounds.Max), $"current {current} is outside [{Bounds.Min}, {Bounds.Max}]");
        }

        var n = _behavior.Normalize(input.Now, current, raw, Bounds.Min, Bounds.Max);
        inputs["raw_desired"] = Show(raw);
        return (n.Replicas, n.Replicas == raw ? why : $"{why}; {n.Reason}: {raw} -> {n.Replicas}");
    }

    protected override void OnChanged(DateTimeOffset at, int from, int to) => _behavior.RecordScale(at, from, to);

    private long BucketOf(DateTimeOffset t) => (long)Math.Floor((t - _origin!.Value) / _options.Step);

    private void Observe(DateTimeOffset now, double rate)
    {
        _origin ??= now;
        long bucket = BucketOf(now);
        if (_bucket < 0)
        {
            _bucket = bucket;
        }

        while (bucket > _bucket)
        {
            // Close the step; a step with no observation repeats the previous value.
            double value = _bucketCount > 0 ? _bucketSum / _bucketCount : _series.Count > 0 ? _series[^1] : rate;
            Close(_bucket, value);
            _bucket++;
            _bucketSum = 0;
            _bucketCount = 0;
        }

        _bucketSum += rate;
        _bucketCount++;
    }

    private void Close(long bucket, double value)
    {
        _series.Add(value);
        int keep = _options.SeasonsKept * _model.SeasonLength;
        if (_series.Count > keep)
        {
            _series.RemoveRange(0, _series.Count - keep);
        }

        if (_forecasts.Remove(bucket, out double forecast))
        {
            _errors.Enqueue((value, forecast));
            while (_errors.Count > _options.ErrorWindow)
            {
                _errors.Dequeue();
            }
        }
    }

    /// <summary>The highest forecast over the steps from now to now + start time + margin (the ramp may come anywhere in it).</summary>
    private double ForecastAhead(DateTimeOffset now)
    {
        long last = _bucket - 1; // the last closed step: the series ends there
        long until = BucketOf(now + _options.StartTime + _options.Margin);
        double max = double.MinValue;
        for (long b = Math.Max(_bucket, last + 1); b <= Math.Max(until, _bucket); b++)
        {
            double f = _model.Forecast(_series, (int)(b - last));
            // Checked later against what happened; the first forecast of a step, made furthest ahead, is the one judged.
            _forecasts.TryAdd(b, f);
            max = Math.Max(max, f);
        }

        return max;
    }

    private double WeightedError()
    {
        double errors = 0;
        double actuals = 0;
        foreach (var (actual, forecast) in _errors)
        {
            errors += Math.Abs(actual - forecast);
            actuals += Math.Abs(actual);
        }

        return actuals <= 0 ? (errors <= 0 ? 0 : 1) : errors / actuals;
    }
}

/// <summary>Options of <see cref="QueuePolicy"/> (KEDA's ScaledObject with a queue-length trigger).</summary>
public sealed record QueueOptions
{
    /// <summary>Min 0 allows scale to zero (KEDA's minReplicaCount defaults to 0).</summary>
    public ScalingBounds Bounds { get; init; } = new() { Min = 0, Max = 10 };
    /// <summary>Messages per replica (KEDA's queueLength / value).</summary>
    public double TargetPerReplica { get; init; } = 5;
    /// <summary>Active when more than this many messages wait (KEDA's activationQueueLength).</summary>
    public int ActivationThreshold { get; init; }
    /// <summary>Scale to min this long after the last activity (KEDA's cooldownPeriod, 300 s).</summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>When the oldest message is older than this, grow in proportion to how much older.</summary>
    public TimeSpan? OldestAgeTarget { get; init; }
    public double Tolerance { get; init; } = HpaReplicaCalculator.DefaultTolerance;
    public HpaScalingRules ScaleUp { get; init; } = HpaScalingRules.DefaultScaleUp;
    public HpaScalingRules ScaleDown { get; init; } = HpaScalingRules.DefaultScaleDown;
}

/// <summary>
/// KEDA-style queue scaling: from zero, the first message over the activation threshold starts replicas at once;
/// while active, the HPA's average-value rule on the queue length (ceil(depth / target)) with its behavior; an oldest
/// message older than the age target raises the count by the age ratio; idle for the cooldown, back to min (zero).
/// </summary>
public sealed class QueuePolicy : ScalingPolicyBase
{
    private readonly QueueOptions _options;
    private readonly HpaBehavior _behavior;
    private DateTimeOffset? _lastActive;

    public QueuePolicy(QueueOptions options)
        : base((options ?? throw new ArgumentNullException(nameof(options))).Bounds)
    {
        if (options.TargetPerReplica <= 0)
        {
            throw new ArgumentException("the target per replica must be above 0", nameof(options));
        }

        _options = options;
        _behavior = new HpaBehavior(options.ScaleUp, options.ScaleDown);
    }

    public override string Name => "queue";

    protected override (int Desired, string Reason) Desire(ScalingInput input, IDictionary<string, string> inputs)
    {
        int current = input.CurrentReplicas;
        if (input.QueueDepth is not { } depth)
        {
            return (current, "no queue length reported yet; keeping the count");
        }

        inputs["queue_depth"] = Show(depth);
        inputs["target_per_replica"] = Show(_options.TargetPerReplica);
        bool active = depth > _options.ActivationThreshold;
        _lastActive ??= input.Now;
        if (active)
        {
            _lastActive = input.Now;
        }

        if (!active)
        {
            var idle = input.Now - _lastActive.Value;
            inputs["idle_seconds"] = Show(idle.TotalSeconds);
            if (current > Bounds.Min && idle >= _options.Cooldown)
            {
                return (Bounds.Min, $"idle for {idle.TotalSeconds:0}s (cooldown {_options.Cooldown.TotalSeconds:0}s): scale to {Bounds.Min}");
            }

            return current == 0
                ? (0, $"idle: {depth} messages, activation above {_options.ActivationThreshold}")
                : (current, $"{depth} messages is not over the activation threshold {_options.ActivationThreshold}; idle {idle.TotalSeconds:0}s of {_options.Cooldown.TotalSeconds:0}s cooldown");
        }

        int wanted = (int)Math.Ceiling(depth / _options.TargetPerReplica);
        if (current == 0)
        {
            return (Math.Max(1, wanted), $"activated by {depth} messages");
        }

        var r = HpaReplicaCalculator.ExternalPerPodReplicas(current, depth, _options.TargetPerReplica, _options.Tolerance);
        int raw = r.DesiredReplicas;
        string why = $"{depth} messages vs {Show(_options.TargetPerReplica)} per replica ({r.Reason})";
        if (_options.OldestAgeTarget is { } ageTarget && input.OldestAgeSeconds is { } age && age > ageTarget.TotalSeconds)
        {
            inputs["oldest_age_seconds"] = Show(age);
            int boosted = (int)Math.Ceiling(current * age / ageTarget.TotalSeconds);
            if (boosted > raw)
            {
                raw = boosted;
                why = $"{why}; oldest message {age:0}s is over its {ageTarget.TotalSeconds:0}s target";
            }
        }

        var n = _behavior.Normalize(input.Now, current, raw, Math.Max(1, Bounds.Min), Bounds.Max);
        inputs["raw_desired"] = Show(raw);
        return (n.Replicas, n.Replicas == raw ? why : $"{why}; {n.Reason}: {raw} -> {n.Replicas}");
    }

    protected override void OnChanged(DateTimeOffset at, int from, int to) => _behavior.RecordScale(at, from, to);
}

/// <summary>Builds the policy a <see cref="ScalingSpec"/> describes.</summary>
public static class ScalingPolicies
{
    /// <summary>The policy for <paramref name="spec"/>, or null for <see cref="ScalingPolicyKind.None"/>.</summary>
    public static IScalingPolicy? Create(ScalingSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var bounds = new ScalingBounds
        {
            Min = spec.Min,
            Max = spec.Max,
            MaxStep = spec.MaxStep,
            ScaleUpCooldown = spec.ScaleUpCooldown,
            ScaleDownCooldown = spec.ScaleDownCooldown,
        };
        var up = HpaScalingRules.DefaultScaleUp with { StabilizationWindowSeconds = (int)spec.ScaleUpStabilization.TotalSeconds };
        var down = HpaScalingRules.DefaultScaleDown with { StabilizationWindowSeconds = (int)spec.ScaleDownStabilization.TotalSeconds };
        return spec.Policy switch
        {
            ScalingPolicyKind.None => null,
            ScalingPolicyKind.Hpa => new HpaPolicy(new HpaPolicyOptions
            {
                Bounds = bounds,
                TargetUtilization = spec.TargetUtilization,
                TargetRequestsPerReplica = spec.TargetRequestsPerReplica,
                Tolerance = spec.Tolerance,
                ScaleUp = up,
                ScaleDown = down,
            }),
            ScalingPolicyKind.Predictive => new PredictivePolicy(new PredictiveOptions
            {
                Bounds = bounds,
                CapacityPerReplica = spec.TargetRequestsPerReplica ?? throw new ArgumentException("the predictive policy needs target_requests_per_replica"),
                StartTime = spec.StartTime,
                Margin = spec.ForecastMargin,
                Step = spec.Step,
                SeasonLength = Math.Max(2, (int)Math.Round(spec.Season / spec.Step)),
                MaxForecastError = spec.MaxForecastError,
                Tolerance = spec.Tolerance,
                ScaleUp = up,
                ScaleDown = down,
            }),
            ScalingPolicyKind.Queue => new QueuePolicy(new QueueOptions
            {
                Bounds = bounds,
                TargetPerReplica = spec.TargetQueuePerReplica,
                ActivationThreshold = spec.ActivationThreshold,
                Cooldown = spec.IdleCooldown,
                OldestAgeTarget = spec.OldestAgeTarget,
                Tolerance = spec.Tolerance,
                ScaleUp = up,
                ScaleDown = down,
            }),
            _ => throw new ArgumentOutOfRangeException(nameof(spec), spec.Policy, "unknown scaling policy"),
        };
    }
}
