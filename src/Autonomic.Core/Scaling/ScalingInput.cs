namespace Autonomic.Core.Scaling;

/// <summary>
/// What a scaling policy sees at one decision: the time, the service's current replica count and the latest
/// observations. Any observation may be absent; a policy that needs one it lacks keeps the count and says why.
/// </summary>
public sealed record ScalingInput
{
    public required string Service { get; init; }
    public required DateTimeOffset Now { get; init; }
    /// <summary>The replica count currently wanted (the spec's).</summary>
    public required int CurrentReplicas { get; init; }
    /// <summary>The latest traffic sample from the load balancer.</summary>
    public TrafficSample? Traffic { get; init; }
    /// <summary>Per-replica CPU, for a CPU utilization target.</summary>
    public IReadOnlyList<HpaPod> Pods { get; init; } = [];
    /// <summary>Messages waiting, for the queue scaler.</summary>
    public int? QueueDepth { get; init; }
    /// <summary>Age of the oldest waiting message, in seconds.</summary>
    public double? OldestAgeSeconds { get; init; }
    /// <summary>A floor someone asked for (e.g. the task agent's <c>scale.requested</c>).</summary>
    public int? RequestedMinimum { get; init; }
}

/// <summary>
/// A scaling policy: given what is observed now, how many replicas a service should have. Implementations keep
/// their own memory (stabilization windows, history) and are driven by one loop per service; the same objects run
/// in the scaling agent and in the benchmark's simulated loop. A policy assumes the count it decides is applied; when
/// a later input shows another count (someone else scaled), it takes that as a change made at that input's time.
/// </summary>
public interface IScalingPolicy
{
    /// <summary>The policy's name, as it appears in decisions.</summary>
    string Name { get; }

    /// <summary>Decides the replica count for <see cref="ScalingInput.Now"/>.</summary>
    ScalingDecision Decide(ScalingInput input);
}
