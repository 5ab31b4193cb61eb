namespace Autonomic.Core.Scaling;

/// <summary>
/// What a scaling policy decided for a service: from how many replicas to how many, which policy, why, and the
/// numbers it looked at. <see cref="From"/> equal to <see cref="To"/> is a decision to keep the count.
/// </summary>
public sealed record ScalingDecision(
    string Service,
    int From,
    int To,
    string Policy,
    string Reason,
    IReadOnlyDictionary<string, string> Inputs)
{
    /// <summary>When it was decided.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>True when the replica count changes.</summary>
    public bool Changes => From != To;
}

/// <summary>
/// Limits every policy's answer is held to: replicas within [<see cref="Min"/>, <see cref="Max"/>], at most
/// <see cref="MaxStep"/> replicas added or removed per decision (0: no step limit), no scale-up within
/// <see cref="ScaleUpCooldown"/> of the last change and no scale-down within <see cref="ScaleDownCooldown"/> of it.
/// </summary>
public sealed record ScalingBounds
{
    public int Min { get; init; } = 1;
    public int Max { get; init; } = 10;
    public int MaxStep { get; init; }
    public TimeSpan ScaleUpCooldown { get; init; } = TimeSpan.Zero;
    public TimeSpan ScaleDownCooldown { get; init; } = TimeSpan.Zero;

    /// <summary>Checks the bounds make sense; throws <see cref="ArgumentException"/> naming the field otherwise.</summary>
    public ScalingBounds Validated()
    {
        if (Min < 0)
        {
            throw new ArgumentException($"min must be 0 or more, got {Min}", nameof(Min));
        }

        if (Max < Math.Max(Min, 1))
        {
            throw new ArgumentException($"max ({Max}) must be at least min ({Min}) and at least 1", nameof(Max));
        }

        if (MaxStep < 0)
        {
            throw new ArgumentException($"max_step must be 0 (no limit) or more, got {MaxStep}", nameof(MaxStep));
        }

        return this;
    }

    /// <summary>
    /// Holds <paramref name="desired"/> to the bounds given the current count and when it last changed. Returns the
    /// allowed count and, when the bounds changed the answer, which bound did (else null).
    /// </summary>
    public (int Replicas, string? Limit) Apply(int current, int desired, DateTimeOffset now, DateTimeOffset? lastChange)
    {
        string? limit = null;
        int to = desired;
        if (MaxStep > 0 && Math.Abs(to - current) > MaxStep)
        {
            (to, limit) = (to > current ? current + MaxStep : current - MaxStep, "max_step");
        }

        // Min and max come last: a count outside them is corrected whatever the step limit.
        if (to > Max)
        {
            (to, limit) = (Max, "max");
        }

        if (to < Min)
        {
            (to, limit) = (Min, "min");
        }

        if (lastChange is { } last && to != current)
        {
            var cooldown = to > current ? ScaleUpCooldown : ScaleDownCooldown;
            // A count outside [min, max] is always corrected, whatever the cooldown.
            bool outside = current < Min || current > Max;
            if (!outside && now - last < cooldown)
            {
                (to, limit) = (current, to > current ? "scale_up_cooldown" : "scale_down_cooldown");
            }
        }

        return (to, limit);
    }
}
