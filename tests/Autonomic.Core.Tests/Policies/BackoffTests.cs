using Autonomic.Core.Policies;
using Autonomic.Core.Specs;
using CsCheck;

namespace Autonomic.Core.Tests.Policies;

/// <summary>Backoff delays and the restart budget, as properties over random policies.</summary>
public sealed class BackoffTests
{
    private const int Iterations = 5_000;

    private static readonly Gen<RestartPolicy> Policies = Gen.Select(
        Gen.Int[1, 5_000], Gen.Int[1, 300_000], Gen.Double[0, 1],
        (initialMs, maxMs, jitter) => new RestartPolicy
        {
            BackoffInitial = TimeSpan.FromMilliseconds(initialMs),
            BackoffMax = TimeSpan.FromMilliseconds(maxMs),
            Jitter = jitter,
        });

    [Fact]
    public void Delay_IsNeverNegative_NorAboveTheCap()
    {
        Gen.Select(Policies, Gen.Int[-10, 500], Gen.Double.Unit).Sample((policy, attempt, random) =>
        {
            var delay = Backoff.Delay(attempt, policy, random);
            Assert.InRange(delay, TimeSpan.Zero, policy.BackoffMax);
        }, iter: Iterations);
    }

    [Fact]
    public void Delay_OfTheFirstRestart_IsZero()
    {
        Gen.Select(Policies, Gen.Int[-10, 1], Gen.Double.Unit).Sample((policy, attempt, random) =>
            Assert.Equal(TimeSpan.Zero, Backoff.Delay(attempt, policy, random)), iter: Iterations);
    }

    [Fact]
    public void Delay_ReachesTheCap_ForLargeAttempts()
    {
        // 300 s / 1 ms < 2^19, so attempt 21 is past any cap the generator can make.
        Gen.Select(Policies, Gen.Int[21, 1_000_000], Gen.Double[0.5, 0.999]).Sample((policy, attempt, random) =>
        {
            Assert.Equal(policy.BackoffMax, Backoff.Nominal(attempt, policy));
            Assert.Equal(policy.BackoffMax, Backoff.Delay(attempt, policy, random));
        }, iter: Iterations);
    }

    [Fact]
    public void Delay_StaysWithinTheJitterBand_AroundNominal()
    {
        Gen.Select(Policies, Gen.Int[2, 40], Gen.Double.Unit).Sample((policy, attempt, random) =>
        {
            var nominal = Backoff.Nominal(attempt, policy).Ticks;
            var delay = Backoff.Delay(attempt, policy, random).Ticks;
            var band = (policy.Jitter * nominal) + 1;
            Assert.InRange(delay, nominal - band, Math.Min(nominal + band, policy.BackoffMax.Ticks));
        }, iter: Iterations);
    }

    [Fact]
    public void Nominal_IsNonDecreasing_InAttempt()
    {
        Gen.Select(Policies, Gen.Int[-5, 300]).Sample((policy, attempt) =>
            Assert.True(Backoff.Nominal(attempt + 1, policy) >= Backoff.Nominal(attempt, policy)), iter: Iterations);
    }

    [Fact]
    public void Nominal_Doubles_FromTheInitialDelay()
    {
        var policy = new RestartPolicy { BackoffInitial = TimeSpan.FromMilliseconds(200), BackoffMax = TimeSpan.FromSeconds(1) };

        var delays = Enumerable.Range(1, 6).Select(a => Backoff.Nominal(a, policy).TotalMilliseconds);

        Assert.Equal([0, 200, 400, 800, 1000, 1000], delays);
    }

    [Fact]
    public void Delay_WithFullJitter_SpansZeroToTwiceNominal()
    {
        var policy = new RestartPolicy { BackoffInitial = TimeSpan.FromSeconds(1), BackoffMax = TimeSpan.FromMinutes(1), Jitter = 1 };

        Assert.Equal(TimeSpan.Zero, Backoff.Delay(2, policy, 0));
        Assert.Equal(TimeSpan.FromSeconds(1), Backoff.Delay(2, policy, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(1.5), Backoff.Delay(2, policy, 0.75));
    }

    [Fact]
    public void Budget_CountsOnlyRestartsInsideTheWindow()
    {
        var policy = new RestartPolicy { Budget = 2, BudgetWindow = TimeSpan.FromSeconds(10) };
        var now = LifecycleFixture.T0;
        DateTimeOffset[] restarts = [now.AddSeconds(-10), now.AddSeconds(-9.999), now];

        Assert.Equal([now.AddSeconds(-9.999), now], RestartBudget.Prune(restarts, policy, now));
        Assert.True(RestartBudget.IsSpent(restarts, policy, now));
        Assert.False(RestartBudget.IsSpent(restarts, policy, now.AddSeconds(0.001)));
    }
}
