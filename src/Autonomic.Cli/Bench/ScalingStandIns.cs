using Autonomic.Core.Scaling;

namespace Autonomic.Cli.Bench;

/// <summary>What a scaling policy sees at one tick of the benchmark's scaling loop.</summary>
/// <remarks>
/// STAND-IN: the scaling policies proper (IScalingPolicy with ScalingInput/ScalingDecision in
/// Autonomic.Core.Scaling) are built separately; until they are merged this benchmark drives its loop through
/// this small interface. Swapping them in means adapting <see cref="BenchScalingInput"/> to ScalingInput in one
/// place (<see cref="ScalingBenchmark"/>'s policy factory) and deleting this file.
/// </remarks>
public sealed record BenchScalingInput(
    TimeSpan Elapsed,
    int CurrentReplicas,
    TrafficSample Sample,
    double TargetRpsPerReplica,
    int MinReplicas,
    int MaxReplicas,
    double TimeScale);

/// <summary>STAND-IN for IScalingPolicy (see <see cref="BenchScalingInput"/>): the desired replica count.</summary>
public interface IBenchScalingPolicy
{
    string Name { get; }

    int Decide(BenchScalingInput input);
}

/// <summary>Always the maximum: the over-provisioned baseline.</summary>
public sealed class FixedMaxPolicy : IBenchScalingPolicy
{
    public string Name => "fixed_max";

    public int Decide(BenchScalingInput input) => input.MaxReplicas;
}

/// <summary>
/// STAND-IN for the HPA-compatible policy: the Kubernetes HorizontalPodAutoscaler algorithm with its defaults —
/// desired = ceil(current × metric / target) on requests per second per replica, tolerance 0.1, sync period
/// 15 s, scale-up at most max(100 %, 4 pods) per 15 s, scale-down stabilization window 300 s (the highest
/// recommendation in the window wins), scale-down at most 100 % per 15 s. Periods are divided by the benchmark's
/// time compression (at least one loop tick), because the trace is replayed that much faster.
/// </summary>
public sealed class HpaStandInPolicy : IBenchScalingPolicy
{
    private readonly List<(TimeSpan At, int Replicas)> _recommendations = [];
    private TimeSpan _lastSync = TimeSpan.MinValue;
    private int _last = -1;

    public string Name => "hpa";

    public int Decide(BenchScalingInput input)
    {
        TimeSpan sync = Scaled(TimeSpan.FromSeconds(15), input.TimeScale, TimeSpan.FromSeconds(1));
        TimeSpan stabilization = Scaled(TimeSpan.FromSeconds(300), input.TimeScale, TimeSpan.FromSeconds(1));
        int current = input.CurrentReplicas;
        if (_last >= 0 && input.Elapsed - _lastSync < sync)
        {
            return _last;
        }

        _lastSync = input.Elapsed;
        int ready = Math.Max(1, input.Sample.ReadyReplicas);
        double perReplica = input.Sample.RequestsPerSecond / ready;
        double ratio = perReplica / input.TargetRpsPerReplica;
        int recommendation = Math.Abs(ratio - 1) <= 0.1 ? current : (int)Math.Ceiling(ready * ratio);
        recommendation = Math.Clamp(recommendation, input.MinReplicas, input.MaxReplicas);
        _recommendations.Add((input.Elapsed, recommendation));
        _recommendations.RemoveAll(r => input.Elapsed - r.At > stabilization);
        int stabilized = recommendation < current ? Math.Min(current, _recommendations.Max(r => r.Replicas)) : recommendation;
        int upLimit = Math.Max(current * 2, current + 4);
        int desired = Math.Clamp(Math.Min(stabilized, upLimit), input.MinReplicas, input.MaxReplicas);
        _last = desired;
        return desired;
    }

    internal static TimeSpan Scaled(TimeSpan real, double timeScale, TimeSpan floor)
    {
        var scaled = real / Math.Max(1, timeScale);
        return scaled < floor ? floor : scaled;
    }
}

/// <summary>
/// STAND-IN for the predictive policy: Holt's linear (level + trend) smoothing of the request rate, forecast a
/// few seconds ahead (the time a replica takes to become ready, plus a tick), and sized for the larger of the
/// forecast and the present; scale-down waits until the recommendation has been lower for a short window.
/// </summary>
public sealed class PredictiveStandInPolicy : IBenchScalingPolicy
{
    private const double Alpha = 0.5;
    private const double Beta = 0.3;
    private readonly List<(TimeSpan At, int Replicas)> _recommendations = [];
    private double? _level;
    private double _trend;

    public string Name => "predictive";

    /// <summary>How far ahead the rate is forecast, in loop ticks (seconds).</summary>
    public double LeadSeconds { get; init; } = 3;

    public int Decide(BenchScalingInput input)
    {
        double rate = input.Sample.RequestsPerSecond;
        if (_level is not { } level)
        {
            _level = rate;
        }
        else
        {
            double next = (Alpha * rate) + ((1 - Alpha) * (level + _trend));
            _trend = (Beta * (next - level)) + ((1 - Beta) * _trend);
            _level = next;
        }

        double forecast = _level.Value + (_trend * LeadSeconds);
        int recommendation = Math.Clamp((int)Math.Ceiling(Math.Max(rate, forecast) / input.TargetRpsPerReplica), input.MinReplicas, input.MaxReplicas);
        _recommendations.Add((input.Elapsed, recommendation));
        TimeSpan window = HpaStandInPolicy.Scaled(TimeSpan.FromSeconds(60), input.TimeScale, TimeSpan.FromSeconds(3));
        _recommendations.RemoveAll(r => input.Elapsed - r.At > window);
        return recommendation >= input.CurrentReplicas ? recommendation : Math.Min(input.CurrentReplicas, _recommendations.Max(r => r.Replicas));
    }
}
