using Autonomic.Core.Model;
using Autonomic.Core.Policies;
using Autonomic.Core.Specs;
using static Autonomic.Core.Tests.Policies.LifecycleFixture;

namespace Autonomic.Core.Tests.Policies;

/// <summary>One test per transition of <see cref="InstanceLifecycle.Next"/>.</summary>
public sealed class InstanceLifecycleTests
{
    public static TheoryData<InstanceState> AliveStates() =>
        new(InstanceState.Starting, InstanceState.Running, InstanceState.Ready, InstanceState.Unready);

    public static TheoryData<Observation> AllButReset() => new(
        new Observation.Tick(),
        new Observation.Launched(),
        new Observation.LaunchFailed("no such file", Retryable: true),
        new Observation.LaunchFailed("no such file", Retryable: false),
        Crash(),
        CleanExit(),
        new Observation.StartupPassed(),
        new Observation.Readiness(true),
        new Observation.Readiness(false),
        new Observation.Failed("liveness", "3 failed probes", T0),
        new Observation.Degraded("leak", "growing"),
        new Observation.StopRequested("shutdown"),
        new Observation.ReplaceRequested("restart by operator"));

    // ---- Fatal ----

    [Theory]
    [MemberData(nameof(AllButReset))]
    public void Fatal_IgnoresEverything_ButReset(Observation o)
    {
        var fatal = In(InstanceState.Fatal) with { Failures = 5, Reason = "budget spent" };

        var t = Step(fatal, o, now: T0.AddHours(1));

        Assert.Same(fatal, t.Next);
        Assert.Empty(t.Directives);
    }

    [Fact]
    public void Fatal_Reset_ReturnsToPending_WithFreshBudget()
    {
        var fatal = In(InstanceState.Fatal) with { Failures = 5, RecentRestarts = [T0, T0.AddSeconds(1)], Restarts = 9 };

        var t = Step(fatal, new Observation.ResetRequested());

        Assert.Equal(InstanceState.Pending, t.Next.State);
        Assert.Equal(0, t.Next.Failures);
        Assert.Empty(t.Next.RecentRestarts);
        Assert.Equal(9, t.Next.Restarts);
        Assert.Empty(t.Directives);
    }

    // ---- Pending ----

    [Fact]
    public void Pending_Tick_Launches()
    {
        var t = Step(In(InstanceState.Pending), new Observation.Tick());

        Assert.Equal(InstanceState.Starting, t.Next.State);
        var launch = Single<Directive.Launch>(t);
        Assert.Equal("lifecycle.pending.launch", launch.Rule);
    }

    [Fact]
    public void Pending_StopRequested_IsStopped_WithoutDirectives()
    {
        var t = Step(In(InstanceState.Pending), new Observation.StopRequested("scale-in"));

        Assert.Equal(InstanceState.Stopped, t.Next.State);
        Assert.Equal("scale-in", t.Next.Reason);
        Assert.Empty(t.Directives);
    }

    // ---- Planned replacement (operator restart, spec change) ----

    [Theory]
    [MemberData(nameof(AliveStates))]
    public void Alive_ReplaceRequested_StopsGracefully_AndRestarts_WithoutIncident(InstanceState state)
    {
        var t = Step(In(state) with { ReadySince = T0 }, new Observation.ReplaceRequested("spec changed"));

        Assert.Equal(InstanceState.Stopping, t.Next.State);
        Assert.True(t.Next.RestartWhenStopped);
        Assert.Null(t.Next.ReadySince);
        var stop = Single<Directive.Stop>(t);
        Assert.Equal("lifecycle.replace_requested", stop.Rule);
        Assert.DoesNotContain(t.Directives, d => d is Directive.OpenIncident);
    }

    [Theory]
    [InlineData(InstanceState.Pending)]
    [InlineData(InstanceState.Backoff)]
    [InlineData(InstanceState.Stopping)]
    [InlineData(InstanceState.Stopped)]
    public void NotAlive_ReplaceRequested_ChangesNothing(InstanceState state)
    {
        var before = In(state);

        var t = Step(before, new Observation.ReplaceRequested("spec changed"));

        Assert.Same(before, t.Next);
        Assert.Empty(t.Directives);
    }

    // ---- Starting ----

    [Fact]
    public void Starting_Tick_WaitsForLaunchResult()
    {
        var starting = In(InstanceState.Starting);

        var t = Step(starting, new Observation.Tick(), now: T0.AddMinutes(5));

        Assert.Same(starting, t.Next);
        Assert.Empty(t.Directives);
    }

    [Fact]
    public void Starting_Launched_WithStartupProbe_WaitsForStartup()
    {
        var t = Step(In(InstanceState.Starting), new Observation.Launched(), WithStartup(readiness: true), T0.AddSeconds(3));

        Assert.Equal(InstanceState.Starting, t.Next.State);
        Assert.Equal(T0.AddSeconds(3), t.Next.StartedAt);
        Assert.Null(t.Next.ReadySince);
        Assert.Empty(t.Directives);
    }

    [Fact]
    public void Starting_Launched_WithReadinessProbe_IsRunning()
    {
        var t = Step(In(InstanceState.Starting), new Observation.Launched(), WithReadiness());

        Assert.Equal(InstanceState.Running, t.Next.State);
        Assert.Equal(T0, t.Next.StartedAt);
        Assert.Empty(t.Directives);
    }

    [Fact]
    public void Starting_Launched_WithoutProbes_IsReadyAtOnce()
    {
        var t = Step(In(InstanceState.Starting), new Observation.Launched(), Bare(), T0.AddSeconds(2));

        Assert.Equal(InstanceState.Ready, t.Next.State);
        Assert.Equal(T0.AddSeconds(2), t.Next.ReadySince);
        Assert.Empty(t.Directives);
    }

    [Fact]
    public void Starting_Launched_AfterRestart_WithoutProbes_MitigatesIncident()
    {
        var restarting = In(InstanceState.Starting) with { Failures = 1, Cause = "crash", RestartWhenStopped = true };

        var t = Step(restarting, new Observation.Launched());

        Assert.Equal(InstanceState.Ready, t.Next.State);
        Assert.Null(t.Next.Cause);
        Assert.False(t.Next.RestartWhenStopped);
        Assert.Equal("lifecycle.starting.launched.ready", Single<Directive.MitigateIncident>(t).Rule);
    }

    [Fact]
    public void Starting_StartupPassed_WithoutReadiness_IsReady()
    {
        var t = Step(In(InstanceState.Starting) with { Failures = 2 }, new Observation.StartupPassed(), WithStartup(readiness: false));

        Assert.Equal(InstanceState.Ready, t.Next.State);
        Assert.Equal(T0, t.Next.ReadySince);
        Assert.Equal("lifecycle.starting.startup_passed.ready", Single<Directive.MitigateIncident>(t).Rule);
    }

    [Fact]
    public void Starting_StartupPassed_WithReadiness_IsRunning()
    {
        var t = Step(In(InstanceState.Starting), new Observation.StartupPassed(), WithStartup(readiness: true));

        Assert.Equal(InstanceState.Running, t.Next.State);
        Assert.Null(t.Next.ReadySince);
        Assert.Empty(t.Directives);
    }

    [Fact]
    public void Starting_Readiness_IsIgnored_UntilStartupPasses()
    {
        var starting = In(InstanceState.Starting);

        var t = Step(starting, new Observation.Readiness(true), WithStartup(readiness: true));

        Assert.Same(starting, t.Next);
        Assert.Empty(t.Directives);
    }

    // ---- Readiness flips ----

    [Theory]
    [InlineData(InstanceState.Running)]
    [InlineData(InstanceState.Unready)]
    public void NotReady_ReadinessPassing_IsReady(InstanceState from)
    {
        var t = Step(In(from), new Observation.Readiness(true), WithReadiness(), T0.AddSeconds(1));

        Assert.Equal(InstanceState.Ready, t.Next.State);
        Assert.Equal(T0.AddSeconds(1), t.Next.ReadySince);
        Assert.Empty(t.Directives);
    }

    [Fact]
    public void Running_ReadinessPassing_AfterFailure_MitigatesIncident()
    {
        var t = Step(In(InstanceState.Running) with { Failures = 1, Cause = "crash" }, new Observation.Readiness(true), WithReadiness());

        Assert.Equal(InstanceState.Ready, t.Next.State);
        Assert.Equal("lifecycle.running.readiness_passed", Single<Directive.MitigateIncident>(t).Rule);
    }

    [Fact]
    public void Ready_ReadinessFailing_IsUnready_AndNotRestarted()
    {
        var ready = In(InstanceState.Ready) with { ReadySince = T0 };

        var t = Step(ready, new Observation.Readiness(false), WithReadiness(), T0.AddSeconds(30));

        Assert.Equal(InstanceState.Unready, t.Next.State);
        Assert.Null(t.Next.ReadySince);
        Assert.Empty(t.Directives);
    }

    [Fact]
    public void Ready_ReadinessPassing_AgainChangesNothing()
    {
        var ready = In(InstanceState.Ready) with { ReadySince = T0 };

        var t = Step(ready, new Observation.Readiness(true), WithReadiness(), T0.AddSeconds(30));

        Assert.Same(ready, t.Next);
        Assert.Empty(t.Directives);
    }

    // ---- Stable period ----

    [Fact]
    public void Ready_Tick_AfterStablePeriod_ResolvesIncident_AndResetsFailures()
    {
        var spec = Bare(new RestartPolicy { ResetAfter = TimeSpan.FromSeconds(10) });
        var ready = In(InstanceState.Ready) with { Failures = 3, ReadySince = T0 };

        var t = Step(ready, new Observation.Tick(), spec, T0.AddSeconds(10));

        Assert.Equal(InstanceState.Ready, t.Next.State);
        Assert.Equal(0, t.Next.Failures);
        Assert.Equal("lifecycle.ready.stable", Single<Directive.ResolveIncident>(t).Rule);
    }

    [Fact]
    public void Ready_Tick_BeforeStablePeriod_DoesNothing()
    {
        var spec = Bare(new RestartPolicy { ResetAfter = TimeSpan.FromSeconds(10) });
        var ready = In(InstanceState.Ready) with { Failures = 3, ReadySince = T0 };

        var t = Step(ready, new Observation.Tick(), spec, T0.AddSeconds(9.9));

        Assert.Same(ready, t.Next);
        Assert.Empty(t.Directives);
    }

    [Fact]
    public void Ready_Tick_WithoutFailures_DoesNothing()
    {
        var ready = In(InstanceState.Ready) with { ReadySince = T0 };

        var t = Step(ready, new Observation.Tick(), now: T0.AddHours(1));

        Assert.Same(ready, t.Next);
        Assert.Empty(t.Directives);
    }

    [Fact]
    public void StablePeriod_ResetsBackoff_SoTheNextCrashRestartsImmediately()
    {
        var ready = In(InstanceState.Ready) with { Failures = 4, ReadySince = T0 };
        var stable = Step(ready, new Observation.Tick(), now: T0.AddMinutes(1)).Next;

        var t = Step(stable, Crash(T0.AddMinutes(2)), now: T0.AddMinutes(2));

        Assert.Equal(InstanceState.Starting, t.Next.State);
        Assert.Single(t.Directives.OfType<Directive.Launch>());
    }

    // ---- Failed (alive but broken) ----

    [Theory]
    [MemberData(nameof(AliveStates))]
    public void Alive_Failed_KillsWithSignal9_AndOpensIncident(InstanceState from)
    {
        var failedAt = T0.AddSeconds(-1.5);
        var alive = In(from) with { ReadySince = T0.AddMinutes(-1) };

        var t = Step(alive, new Observation.Failed("liveness", "3 liveness probes failed", failedAt));

        Assert.Equal(InstanceState.Stopping, t.Next.State);
        Assert.True(t.Next.RestartWhenStopped);
        Assert.Equal("liveness", t.Next.Cause);
        Assert.Null(t.Next.ReadySince);
        Assert.Equal(["OpenIncident", "Kill"], Kinds(t));
        var incident = (Directive.OpenIncident)t.Directives[0];
        Assert.Equal(("liveness", failedAt, "lifecycle.alive.liveness"), (incident.Cause, incident.FailedAt, incident.Rule));
        var kill = (Directive.Kill)t.Directives[1];
        Assert.Equal((9, "lifecycle.alive.liveness.kill"), (kill.Signal, kill.Rule));
    }

    [Fact]
    public void Stopping_Failed_IsIgnored()
    {
        var stopping = In(InstanceState.Stopping) with { RestartWhenStopped = true, Cause = "liveness" };

        var t = Step(stopping, new Observation.Failed("memory", "over limit", T0));

        Assert.Same(stopping, t.Next);
        Assert.Empty(t.Directives);
    }

    // ---- Degraded (replace gracefully) ----

    [Theory]
    [MemberData(nameof(AliveStates))]
    public void Alive_Degraded_StopsGracefully_ForReplacement(InstanceState from)
    {
        var t = Step(In(from), new Observation.Degraded("leak", "limit in 20 s"), now: T0.AddSeconds(7));

        Assert.Equal(InstanceState.Stopping, t.Next.State);
        Assert.True(t.Next.RestartWhenStopped);
        Assert.Equal("leak", t.Next.Cause);
        Assert.Equal(["OpenIncident", "Stop"], Kinds(t));
        var incident = (Directive.OpenIncident)t.Directives[0];
        Assert.Equal(("leak", T0.AddSeconds(7), "lifecycle.degraded.leak"), (incident.Cause, incident.FailedAt, incident.Rule));
        Assert.Equal("lifecycle.degraded.leak.replace", t.Directives[1].Rule);
    }

    [Fact]
    public void Degraded_ThenExited_Restarts_WithoutSecondIncident()
    {
        var stopping = Step(In(InstanceState.Ready), new Observation.Degraded("leak", "growing")).Next;

        var t = Step(stopping, new Observation.Exited("SIGTERM", Clean: true, T0.AddSeconds(1)), now: T0.AddSeconds(1));

        Assert.Equal(InstanceState.Starting, t.Next.State);
        Assert.Equal("lifecycle.leak.restart", Single<Directive.Launch>(t).Rule);
    }

    // ---- Exited while alive ----

    [Fact]
    public void Ready_Exited_RestartsImmediately_AndOpensIncident()
    {
        var ready = In(InstanceState.Ready) with { ReadySince = T0.AddMinutes(-5), Restarts = 2 };
        var exitedAt = T0.AddMilliseconds(-20);

        var t = Step(ready, Crash(exitedAt));

        Assert.Equal(InstanceState.Starting, t.Next.State);
        Assert.Equal(1, t.Next.Failures);
        Assert.Equal(3, t.Next.Restarts);
        Assert.Equal([T0], t.Next.RecentRestarts);
        Assert.Equal("crash", t.Next.Cause);
        Assert.Null(t.Next.ReadySince);
        Assert.Equal(["OpenIncident", "Launch"], Kinds(t));
        var incident = (Directive.OpenIncident)t.Directives[0];
        Assert.Equal(("crash", exitedAt, "lifecycle.alive.exited"), (incident.Cause, incident.FailedAt, incident.Rule));
        Assert.Equal("lifecycle.crash.restart", t.Directives[1].Rule);
    }

    [Fact]
    public void Ready_Exited_AfterEarlierRestart_BacksOff()
    {
        var spec = Bare(new RestartPolicy { BackoffInitial = TimeSpan.FromMilliseconds(200), Jitter = 0.2 });
        var ready = In(InstanceState.Ready) with { Failures = 1, RecentRestarts = [T0.AddSeconds(-5)] };

        // random 0.5 is the middle of the jitter range: exactly the nominal delay.
        var t = Step(ready, Crash(), spec, random: 0.5);

        Assert.Equal(InstanceState.Backoff, t.Next.State);
        Assert.Equal(2, t.Next.Failures);
        Assert.Equal(T0.AddMilliseconds(200), t.Next.BackoffUntil);
        Assert.Equal("lifecycle.alive.exited", Single<Directive.OpenIncident>(t).Rule);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void RestartModeNever_Exited_IsStopped(bool clean)
    {
        var spec = Bare(new RestartPolicy { Mode = RestartMode.Never });

        var t = Step(In(InstanceState.Ready) with { ReadySince = T0 }, new Observation.Exited("exit", clean, T0), spec);

        Assert.Equal(InstanceState.Stopped, t.Next.State);
        Assert.Null(t.Next.ReadySince);
        Assert.Contains("never", t.Next.Reason, StringComparison.Ordinal);
        Assert.Empty(t.Directives);
    }

    [Fact]
    public void RestartModeOnFailure_CleanExit_IsStopped()
    {
        var spec = Bare(new RestartPolicy { Mode = RestartMode.OnFailure });

        var t = Step(In(InstanceState.Running), CleanExit(), spec);

        Assert.Equal(InstanceState.Stopped, t.Next.State);
        Assert.Empty(t.Directives);
    }

    [Fact]
    public void RestartModeOnFailure_Crash_Restarts()
    {
        var spec = Bare(new RestartPolicy { Mode = RestartMode.OnFailure });

        var t = Step(In(InstanceState.Running), Crash(), spec);

        Assert.Equal(InstanceState.Starting, t.Next.State);
        Assert.Equal(["OpenIncident", "Launch"], Kinds(t));
    }

    [Fact]
    public void RestartModeAlways_CleanExit_Restarts()
    {
        var t = Step(In(InstanceState.Unready), CleanExit(), Bare(new RestartPolicy { Mode = RestartMode.Always }));

        Assert.Equal(InstanceState.Starting, t.Next.State);
        Assert.Equal(["OpenIncident", "Launch"], Kinds(t));
    }

    // ---- Stopping ----

    [Fact]
    public void Stopping_Exited_WithRestartWhenStopped_Restarts()
    {
        var stopping = In(InstanceState.Stopping) with { RestartWhenStopped = true, Cause = "liveness" };

        var t = Step(stopping, new Observation.Exited("SIGKILL", Clean: false, T0));

        Assert.Equal(InstanceState.Starting, t.Next.State);
        Assert.False(t.Next.RestartWhenStopped);
        Assert.Equal(1, t.Next.Failures);
        // The incident was opened when the failure was detected; the restart adds none.
        Assert.Equal("lifecycle.liveness.restart", Single<Directive.Launch>(t).Rule);
    }

    [Fact]
    public void Stopping_Exited_WithRestartWhenStopped_IgnoresRestartModeNever()
    {
        var stopping = In(InstanceState.Stopping) with { RestartWhenStopped = true, Cause = "liveness" };

        var t = Step(stopping, new Observation.Exited("SIGKILL", Clean: false, T0), Bare(new RestartPolicy { Mode = RestartMode.Never }));

        Assert.Equal(InstanceState.Starting, t.Next.State);
        Assert.IsType<Directive.Launch>(Assert.Single(t.Directives));
    }

    [Fact]
    public void Stopping_Exited_WithoutRestart_IsStopped()
    {
        var t = Step(In(InstanceState.Stopping), CleanExit());

        Assert.Equal(InstanceState.Stopped, t.Next.State);
        Assert.Empty(t.Directives);
    }

    // ---- Launch failures ----

    [Fact]
    public void LaunchFailed_NotRetryable_IsFatal()
    {
        var t = Step(In(InstanceState.Starting), new Observation.LaunchFailed("command not found: apii", Retryable: false));

        Assert.Equal(InstanceState.Fatal, t.Next.State);
        Assert.Equal(["OpenIncident", "Escalate"], Kinds(t));
        var incident = (Directive.OpenIncident)t.Directives[0];
        Assert.Equal(("launch_failed", "lifecycle.launch_failed"), (incident.Cause, incident.Rule));
        Assert.Equal("lifecycle.launch_failed.fatal", t.Directives[1].Rule);
        Assert.Contains("command not found", ((Directive.Escalate)t.Directives[1]).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void LaunchFailed_Retryable_Restarts_AndOpensIncident()
    {
        var t = Step(In(InstanceState.Starting), new Observation.LaunchFailed("port in use", Retryable: true));

        Assert.Equal(InstanceState.Starting, t.Next.State);
        Assert.Equal("launch_failed", t.Next.Cause);
        Assert.Equal(1, t.Next.Failures);
        Assert.Equal(["OpenIncident", "Launch"], Kinds(t));
        Assert.Equal("lifecycle.launch_failed.restart", t.Directives[1].Rule);
    }

    [Fact]
    public void LaunchFailed_Retryable_Repeated_BacksOff()
    {
        var t = Step(In(InstanceState.Starting) with { Failures = 2 }, new Observation.LaunchFailed("port in use", Retryable: true));

        Assert.Equal(InstanceState.Backoff, t.Next.State);
        Assert.NotNull(t.Next.BackoffUntil);
        Assert.True(t.Next.BackoffUntil > T0);
        Assert.Equal("lifecycle.launch_failed", Single<Directive.OpenIncident>(t).Rule);
    }

    [Fact]
    public void Stopping_LaunchFailed_AfterStopRequested_IsStopped()
    {
        // Stop requested while the launch was in flight; the failed launch must not bring it back.
        var stopping = Step(In(InstanceState.Starting), new Observation.StopRequested("shutdown")).Next;

        var t = Step(stopping, new Observation.LaunchFailed("port in use", Retryable: true));

        Assert.Equal(InstanceState.Stopped, t.Next.State);
        Assert.Empty(t.Directives);
    }

    // ---- Backoff ----

    [Fact]
    public void Backoff_Tick_BeforeDeadline_DoesNothing()
    {
        var backoff = In(InstanceState.Backoff) with { Failures = 2, BackoffUntil = T0.AddSeconds(1) };

        var t = Step(backoff, new Observation.Tick(), now: T0.AddSeconds(0.999));

        Assert.Same(backoff, t.Next);
        Assert.Empty(t.Directives);
    }

    [Fact]
    public void Backoff_Tick_AtDeadline_Launches()
    {
        var backoff = In(InstanceState.Backoff) with { Failures = 2, BackoffUntil = T0.AddSeconds(1) };

        var t = Step(backoff, new Observation.Tick(), now: T0.AddSeconds(1));

        Assert.Equal(InstanceState.Starting, t.Next.State);
        Assert.Null(t.Next.BackoffUntil);
        Assert.Equal(2, t.Next.Failures);
        Assert.Equal("lifecycle.backoff.elapsed", Single<Directive.Launch>(t).Rule);
    }

    [Fact]
    public void Backoff_StopRequested_IsStopped_AndForgetsDeadline()
    {
        var backoff = In(InstanceState.Backoff) with { BackoffUntil = T0.AddSeconds(1) };

        var t = Step(backoff, new Observation.StopRequested("scale-in"));

        Assert.Equal(InstanceState.Stopped, t.Next.State);
        Assert.Null(t.Next.BackoffUntil);
        Assert.Empty(t.Directives);
    }

    [Fact]
    public void Backoff_Exited_IsIgnored()
    {
        var backoff = In(InstanceState.Backoff) with { BackoffUntil = T0.AddSeconds(1) };

        var t = Step(backoff, Crash());

        Assert.Same(backoff, t.Next);
        Assert.Empty(t.Directives);
    }

    // ---- Restart budget ----

    [Fact]
    public void BudgetSpent_GoesFatal_AndEscalates()
    {
        var spec = Bare(new RestartPolicy { Budget = 3, BudgetWindow = TimeSpan.FromSeconds(60) });
        var ready = In(InstanceState.Ready) with
        {
            Failures = 3,
            RecentRestarts = [T0.AddSeconds(-50), T0.AddSeconds(-20), T0.AddSeconds(-1)],
        };

        var t = Step(ready, Crash(), spec);

        Assert.Equal(InstanceState.Fatal, t.Next.State);
        Assert.False(t.Next.RestartWhenStopped);
        Assert.Equal(["OpenIncident", "Escalate"], Kinds(t));
        Assert.Equal("lifecycle.budget_spent.fatal", t.Directives[1].Rule);
        Assert.Contains("3 restarts within 60s", ((Directive.Escalate)t.Directives[1]).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void BudgetSpent_AfterLivenessKill_GoesFatal()
    {
        var spec = Bare(new RestartPolicy { Budget = 1 });
        var stopping = In(InstanceState.Stopping) with { RestartWhenStopped = true, Cause = "liveness", RecentRestarts = [T0.AddSeconds(-1)] };

        var t = Step(stopping, new Observation.Exited("SIGKILL", Clean: false, T0), spec);

        Assert.Equal(InstanceState.Fatal, t.Next.State);
        Assert.False(t.Next.RestartWhenStopped);
        Assert.Equal("lifecycle.budget_spent.fatal", Single<Directive.Escalate>(t).Rule);
    }

    [Fact]
    public void Budget_RestartsOutsideTheWindow_DoNotCount()
    {
        var spec = Bare(new RestartPolicy { Budget = 2, BudgetWindow = TimeSpan.FromSeconds(60) });
        var ready = In(InstanceState.Ready) with { Failures = 0, RecentRestarts = [T0.AddSeconds(-61), T0.AddSeconds(-60)] };

        var t = Step(ready, Crash(), spec);

        Assert.Equal(InstanceState.Starting, t.Next.State);
        Assert.Equal([T0], t.Next.RecentRestarts);
        Assert.Single(t.Directives.OfType<Directive.Launch>());
    }

    // ---- StopRequested ----

    [Theory]
    [MemberData(nameof(AliveStates))]
    public void Alive_StopRequested_StopsGracefully(InstanceState from)
    {
        var t = Step(In(from) with { RestartWhenStopped = true }, new Observation.StopRequested("shutdown"));

        Assert.Equal(InstanceState.Stopping, t.Next.State);
        Assert.False(t.Next.RestartWhenStopped);
        var stop = Single<Directive.Stop>(t);
        Assert.Equal(("shutdown", "lifecycle.stop_requested"), (stop.Reason, stop.Rule));
    }

    [Fact]
    public void Stopping_StopRequested_CancelsThePendingRestart()
    {
        // A liveness kill is in flight when shutdown starts: the exit must not relaunch the process.
        var killing = Step(In(InstanceState.Ready), new Observation.Failed("liveness", "probe failed", T0)).Next;

        var stopRequested = Step(killing, new Observation.StopRequested("shutdown"));
        var exited = Step(stopRequested.Next, new Observation.Exited("SIGKILL", Clean: false, T0.AddSeconds(1)), now: T0.AddSeconds(1));

        Assert.Equal(InstanceState.Stopping, stopRequested.Next.State);
        Assert.Empty(stopRequested.Directives);
        Assert.Equal(InstanceState.Stopped, exited.Next.State);
        Assert.Empty(exited.Directives);
    }

    [Theory]
    [InlineData(InstanceState.Stopped)]
    [InlineData(InstanceState.Fatal)]
    public void AlreadyDown_StopRequested_ChangesNothing(InstanceState from)
    {
        var down = In(from);

        var t = Step(down, new Observation.StopRequested("shutdown"));

        Assert.Same(down, t.Next);
        Assert.Empty(t.Directives);
    }

    // ---- Stopped ----

    [Fact]
    public void Stopped_Tick_DoesNothing()
    {
        var stopped = In(InstanceState.Stopped);

        var t = Step(stopped, new Observation.Tick(), now: T0.AddHours(1));

        Assert.Same(stopped, t.Next);
        Assert.Empty(t.Directives);
    }

    [Fact]
    public void Stopped_Reset_ReturnsToPending_ThenTickLaunches()
    {
        var pending = Step(In(InstanceState.Stopped), new Observation.ResetRequested());
        var launched = Step(pending.Next, new Observation.Tick());

        Assert.Equal(InstanceState.Pending, pending.Next.State);
        Assert.Empty(pending.Directives);
        Assert.Equal("lifecycle.pending.launch", Single<Directive.Launch>(launched).Rule);
    }
}
