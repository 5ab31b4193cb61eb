using Autonomic.Core.Model;
using Autonomic.Core.Policies;
using Autonomic.Core.Specs;
using CsCheck;
using static Autonomic.Core.Tests.Policies.LifecycleFixture;

namespace Autonomic.Core.Tests.Policies;

/// <summary>Properties of whole runs of <see cref="InstanceLifecycle.Next"/> over random observation sequences.</summary>
public sealed class LifecyclePropertyTests
{
    private const int Iterations = 3_000;

    private static readonly Gen<RestartPolicy> CrashLoopPolicies = Gen.Select(
        Gen.Int[1, 8], Gen.Int[1, 500], Gen.Int[1, 3_000], Gen.Double[0, 1],
        (budget, initialMs, maxMs, jitter) => new RestartPolicy
        {
            Budget = budget,
            BudgetWindow = TimeSpan.FromMinutes(10),
            BackoffInitial = TimeSpan.FromMilliseconds(initialMs),
            BackoffMax = TimeSpan.FromMilliseconds(maxMs),
            Jitter = jitter,
            ResetAfter = TimeSpan.FromHours(1),
        });

    private static readonly Gen<RestartPolicy> AnyPolicies = Gen.Select(
        Gen.Int[1, 6], Gen.Int[1, 120], Gen.Int[1, 2_000], Gen.Int[1, 60_000], Gen.Double[0, 1],
        (budget, windowS, initialMs, maxMs, jitter) => new RestartPolicy
        {
            Budget = budget,
            BudgetWindow = TimeSpan.FromSeconds(windowS),
            BackoffInitial = TimeSpan.FromMilliseconds(initialMs),
            BackoffMax = TimeSpan.FromMilliseconds(maxMs),
            Jitter = jitter,
            ResetAfter = TimeSpan.FromSeconds(windowS / 2.0),
        });

    /// <summary>(observation kind, time step in ms, jitter sample).</summary>
    private static readonly Gen<(int Kind, int StepMs, double Random)[]> Steps =
        Gen.Select(Gen.Int[0, 15], Gen.Int[0, 20_000], Gen.Double.Unit).Array[1, 150];

    [Fact]
    public void CrashLoop_EndsInFatal_AfterExactlyBudgetRestarts()
    {
        // Each launch either fails (retryable) or succeeds and crashes soon after; time steps are small, so
        // the whole loop fits in one budget window.
        var loops = Gen.Select(CrashLoopPolicies, Gen.Select(Gen.Int[1, 1_000], Gen.Bool, Gen.Double.Unit).Array[1, 50]);
        loops.Sample((policy, steps) =>
        {
            var spec = Bare(policy);
            var s = new Lifecycle();
            var now = T0;
            var launches = 0;
            var restartLaunches = new List<DateTimeOffset>();
            var escalations = 0;

            void Apply(Observation o, double random)
            {
                var t = InstanceLifecycle.Next(s, o, spec, now, random);
                foreach (var launch in t.Directives.OfType<Directive.Launch>())
                {
                    launches++;
                    if (launch.Rule != "lifecycle.pending.launch")
                    {
                        restartLaunches.Add(now);
                    }
                }

                escalations += t.Directives.Count(d => d is Directive.Escalate);
                s = t.Next;
            }

            Apply(new Observation.Tick(), 0.5);
            for (var i = 0; s.State != InstanceState.Fatal; i++)
            {
                Assert.True(i < 100_000, "crash loop did not end");
                var (stepMs, launchFails, random) = steps[i % steps.Length];
                now = now.AddMilliseconds(stepMs);
                Observation o = s.State switch
                {
                    InstanceState.Starting when launchFails => new Observation.LaunchFailed("port in use", Retryable: true),
                    InstanceState.Starting => new Observation.Launched(),
                    InstanceState.Backoff => new Observation.Tick(),
                    InstanceState.Ready => Crash(now),
                    _ => throw new InvalidOperationException($"unexpected state {s.State}"),
                };
                Apply(o, random);
            }

            Assert.True(now - T0 < policy.BudgetWindow, "the loop should fit in one budget window");
            Assert.Equal(policy.Budget, restartLaunches.Count);
            Assert.Equal(policy.Budget + 1, launches);
            Assert.Equal(policy.Budget, s.Restarts);
            Assert.Equal(1, escalations);
        }, iter: Iterations);
    }

    [Fact]
    public void RandomObservations_NeverLaunchWhileAProcessMayBeAlive()
    {
        Gen.Select(AnyPolicies, Gen.Int[0, 2], Steps).Sample((policy, specKind, steps) =>
        {
            var spec = SpecOf(specKind, policy);
            var s = new Lifecycle();
            var now = T0;
            var launchOutstanding = false;
            foreach (var (kind, stepMs, random) in steps)
            {
                now = now.AddMilliseconds(stepMs);
                var o = ObservationOf(kind, now);
                if (o is Observation.Exited or Observation.LaunchFailed)
                {
                    launchOutstanding = false;
                }

                var t = InstanceLifecycle.Next(s, o, spec, now, random);
                var launches = t.Directives.OfType<Directive.Launch>().Count();
                Assert.True(launches <= 1, "one transition launches at most once");
                if (launches == 1)
                {
                    Assert.False(launchOutstanding, $"launch from {s.State} on {o.GetType().Name} while a process may be alive");
                    Assert.False(InstanceStates.IsAlive(s.State) && o is not (Observation.Exited or Observation.LaunchFailed));
                    launchOutstanding = true;
                }

                s = t.Next;
            }
        }, iter: Iterations);
    }

    [Fact]
    public void RandomObservations_NeverRestartMoreThanTheBudgetInOneWindow()
    {
        Gen.Select(AnyPolicies, Gen.Int[0, 2], Steps).Sample((policy, specKind, steps) =>
        {
            var spec = SpecOf(specKind, policy);
            var s = new Lifecycle();
            var now = T0;
            var restarts = new List<DateTimeOffset>();
            foreach (var (kind, stepMs, random) in steps)
            {
                now = now.AddMilliseconds(stepMs);
                var o = ObservationOf(kind, now);
                var t = InstanceLifecycle.Next(s, o, spec, now, random);
                if (s.State == InstanceState.Fatal)
                {
                    Assert.True(o is Observation.ResetRequested || ReferenceEquals(s, t.Next), "FATAL changes only on reset");
                    Assert.Empty(t.Directives);
                    if (o is Observation.ResetRequested)
                    {
                        // An operator reset grants a fresh budget.
                        restarts.Clear();
                    }
                }

                if (t.Next.Restarts > s.Restarts)
                {
                    restarts.Add(now);
                    var inWindow = restarts.Count(r => now - r < policy.BudgetWindow);
                    Assert.True(inWindow <= policy.Budget, $"{inWindow} restarts within {policy.BudgetWindow} with budget {policy.Budget}");
                }

                Assert.True(t.Next.Failures >= 0 && t.Next.RecentRestarts.Count <= policy.Budget);
                s = t.Next;
            }
        }, iter: Iterations);
    }

    private static ServiceSpec SpecOf(int kind, RestartPolicy policy) => kind switch
    {
        0 => Bare(policy),
        1 => WithReadiness(policy),
        _ => WithStartup(readiness: true) with { Restart = policy },
    };

    private static Observation ObservationOf(int kind, DateTimeOffset now) => kind switch
    {
        0 or 1 => new Observation.Tick(),
        2 or 3 => new Observation.Launched(),
        4 => new Observation.LaunchFailed("port in use", Retryable: true),
        5 => Crash(now),
        6 => CleanExit(now),
        7 => new Observation.StartupPassed(),
        8 => new Observation.Readiness(true),
        9 => new Observation.Readiness(false),
        10 => new Observation.Failed("liveness", "probe failed", now),
        11 => new Observation.Degraded("leak", "growing"),
        12 => new Observation.StopRequested("scale-in"),
        13 => new Observation.ResetRequested(),
        14 => Crash(now),
        _ => new Observation.LaunchFailed("command not found", Retryable: false),
    };
}
