using Autonomic.Core.Specs;

namespace Autonomic.Core.Policies;

/// <summary>
/// Restart delays: the first restart after a stable period is immediate (a crash costs only the cold start),
/// later ones back off exponentially from <see cref="RestartPolicy.BackoffInitial"/> to
/// <see cref="RestartPolicy.BackoffMax"/>, with jitter so replicas that crash together do not restart in lockstep.
/// </summary>
public static class Backoff
{
    /// <summary>
    /// The delay before restart number <paramref name="attempt"/> (1-based, counted since the instance was last
    /// stable). <paramref name="random"/> is a uniform sample in [0, 1) supplied by the caller, so the result is
    /// reproducible. Never negative, never above the cap.
    /// </summary>
    public static TimeSpan Delay(int attempt, RestartPolicy policy, double random)
    {
        if (attempt <= 1)
        {
            return TimeSpan.Zero;
        }

        var baseDelay = Nominal(attempt, policy);
        var factor = 1 + (policy.Jitter * ((2 * Math.Clamp(random, 0, 1)) - 1));
        var jittered = TimeSpan.FromTicks((long)(baseDelay.Ticks * factor));
        return jittered < TimeSpan.Zero ? TimeSpan.Zero : jittered > policy.BackoffMax ? policy.BackoffMax : jittered;
    }

    /// <summary>The delay without jitter: 0, initial, 2x initial, 4x initial ... capped at max.</summary>
    public static TimeSpan Nominal(int attempt, RestartPolicy policy)
    {
        if (attempt <= 1)
        {
            return TimeSpan.Zero;
        }

        // Doubling past 2^40 ticks overflows nothing useful: any cap is reached long before.
        var exponent = Math.Min(attempt - 2, 40);
        var ticks = policy.BackoffInitial.Ticks * Math.Pow(2, exponent);
        return ticks >= policy.BackoffMax.Ticks ? policy.BackoffMax : TimeSpan.FromTicks((long)ticks);
    }
}

/// <summary>The restart budget: at most <see cref="RestartPolicy.Budget"/> restarts within <see cref="RestartPolicy.BudgetWindow"/>.</summary>
public static class RestartBudget
{
    /// <summary>The restarts still inside the window at <paramref name="now"/>.</summary>
    public static IReadOnlyList<DateTimeOffset> Prune(IReadOnlyList<DateTimeOffset> restarts, RestartPolicy policy, DateTimeOffset now) =>
        restarts.Where(t => now - t < policy.BudgetWindow).ToArray();

    /// <summary>True when one more restart now would exceed the budget.</summary>
    public static bool IsSpent(IReadOnlyList<DateTimeOffset> restarts, RestartPolicy policy, DateTimeOffset now) =>
        Prune(restarts, policy, now).Count >= policy.Budget;
}
