using Autonomic.Core.Model;
using Autonomic.Core.Specs;

namespace Autonomic.Core.Policies;

/// <summary>What the healer knows about one instance between transitions. Immutable.</summary>
public sealed record Lifecycle
{
    public InstanceState State { get; init; } = InstanceState.Pending;
    /// <summary>Restarts since the instance was last stable; drives the backoff.</summary>
    public int Failures { get; init; }
    /// <summary>Restart times inside the budget window.</summary>
    public IReadOnlyList<DateTimeOffset> RecentRestarts { get; init; } = [];
    public DateTimeOffset? BackoffUntil { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? ReadySince { get; init; }
    /// <summary>Set while stopping: start again once the process is gone (liveness kill, replacement).</summary>
    public bool RestartWhenStopped { get; init; }
    /// <summary>The failure being handled, carried from detection to the restart.</summary>
    public string? Cause { get; init; }
    public string? Reason { get; init; }
    /// <summary>Total restarts since the instance was created.</summary>
    public int Restarts { get; init; }
}

/// <summary>Something observed about an instance, the input of <see cref="InstanceLifecycle.Next"/>.</summary>
public abstract record Observation
{
    /// <summary>Time passed; due timers (backoff, stability) fire.</summary>
    public sealed record Tick : Observation;
    /// <summary>The process was launched.</summary>
    public sealed record Launched : Observation;
    /// <summary>Launch failed. Not retryable means retrying cannot help (command not found).</summary>
    public sealed record LaunchFailed(string Reason, bool Retryable) : Observation;
    /// <summary>The process ended.</summary>
    public sealed record Exited(string Detail, bool Clean, DateTimeOffset At) : Observation;
    /// <summary>The startup probe passed its threshold.</summary>
    public sealed record StartupPassed : Observation;
    /// <summary>The readiness verdict changed.</summary>
    public sealed record Readiness(bool Ready) : Observation;
    /// <summary>
    /// Alive but broken (liveness or startup probe failed, memory limit exceeded): killed at once and restarted.
    /// <paramref name="FailedAt"/> is when the failure began (the first failed probe).
    /// </summary>
    public sealed record Failed(string Cause, string Detail, DateTimeOffset FailedAt) : Observation;
    /// <summary>Degraded but still serving (leak trend, slow): replaced gracefully. The healer checks the replica rule first.</summary>
    public sealed record Degraded(string Cause, string Detail) : Observation;
    /// <summary>Stop on purpose (shutdown, scale-in).</summary>
    public sealed record StopRequested(string Reason) : Observation;
    /// <summary>An operator or a spec change asks for a new process (a planned replacement: no incident).</summary>
    public sealed record ReplaceRequested(string Reason) : Observation;
    /// <summary>A human resets a FATAL instance.</summary>
    public sealed record ResetRequested : Observation;
}

/// <summary>What the healer must do after a transition.</summary>
public abstract record Directive
{
    /// <summary>The policy rule that produced it, for the audit trail.</summary>
    public required string Rule { get; init; }

    /// <summary>Launch the process.</summary>
    public sealed record Launch(string Reason) : Directive;
    /// <summary>Send a signal now (SIGKILL for a process that is not trusted to stop).</summary>
    public sealed record Kill(int Signal, string Reason) : Directive;
    /// <summary>SIGTERM, SIGKILL after the grace period.</summary>
    public sealed record Stop(string Reason) : Directive;
    /// <summary>Open an incident (or add to the open one of this instance).</summary>
    public sealed record OpenIncident(string Cause, string Summary, DateTimeOffset FailedAt) : Directive;
    /// <summary>The instance is healthy again.</summary>
    public sealed record MitigateIncident : Directive;
    /// <summary>The instance has been stable for the reset period.</summary>
    public sealed record ResolveIncident : Directive;
    /// <summary>Automation gives up; a human must act.</summary>
    public sealed record Escalate(string Reason) : Directive;
}

/// <summary>The result of one transition.</summary>
public sealed record Transition(Lifecycle Next, IReadOnlyList<Directive> Directives)
{
    /// <summary>No change, nothing to do.</summary>
    public static Transition None(Lifecycle current) => new(current, []);
}

/// <summary>
/// The per-instance state machine of the self-healing agent, as a pure function:
/// <c>Next(state, observation, spec, now, random) -> (state, directives)</c>. No clock, no I/O; every transition
/// is named by the rule it returns. The random argument of <see cref="Next"/> is a uniform sample in [0, 1)
/// for the backoff jitter.
/// </summary>
public static class InstanceLifecycle
{
    /// <summary>Signal 9.</summary>
    public const int SigKill = 9;

    public static Transition Next(Lifecycle s, Observation o, ServiceSpec spec, DateTimeOffset now, double random)
    {
        if (s.State == InstanceState.Fatal)
        {
            return o is Observation.ResetRequested
                ? new(s with { State = InstanceState.Pending, Failures = 0, RecentRestarts = [], Reason = "reset by operator" }, [])
                : Transition.None(s);
        }

        return (s.State, o) switch
        {
            (InstanceState.Pending, Observation.Tick) =>
                new(s with { State = InstanceState.Starting, Reason = "launching" },
                    [new Directive.Launch("instance wanted and not running") { Rule = "lifecycle.pending.launch" }]),

            (InstanceState.Starting, Observation.Launched) => Launched(s, spec, now),

            (InstanceState.Starting, Observation.StartupPassed) =>
                spec.Health.Readiness is null
                    ? BecomeReady(s, now, "startup probe passed", "lifecycle.starting.startup_passed.ready")
                    : new(s with { State = InstanceState.Running, Reason = "startup probe passed; waiting for readiness" }, []),

            (InstanceState.Running or InstanceState.Unready, Observation.Readiness { Ready: true }) =>
                BecomeReady(s, now, "readiness probe passing", "lifecycle.running.readiness_passed"),

            (InstanceState.Ready, Observation.Readiness { Ready: false }) =>
                new(s with { State = InstanceState.Unready, ReadySince = null, Reason = "readiness probe failing" }, []),

            (InstanceState.Ready, Observation.Tick) when s.Failures > 0 && s.ReadySince is { } since && now - since >= spec.Restart.ResetAfter =>
                new(s with { Failures = 0 }, [new Directive.ResolveIncident { Rule = "lifecycle.ready.stable" }]),

            (InstanceState.Starting or InstanceState.Running or InstanceState.Ready or InstanceState.Unready, Observation.Failed f) =>
                new(s with { State = InstanceState.Stopping, RestartWhenStopped = true, Cause = f.Cause, ReadySince = null, Reason = f.Detail },
                    [
                        new Directive.OpenIncident(f.Cause, f.Detail, f.FailedAt) { Rule = $"lifecycle.alive.{f.Cause}" },
                        new Directive.Kill(SigKill, f.Detail) { Rule = $"lifecycle.alive.{f.Cause}.kill" },
                    ]),

            (InstanceState.Starting or InstanceState.Running or InstanceState.Ready or InstanceState.Unready, Observation.Degraded d) =>
                new(s with { State = InstanceState.Stopping, RestartWhenStopped = true, Cause = d.Cause, ReadySince = null, Reason = d.Detail },
                    [
                        new Directive.OpenIncident(d.Cause, d.Detail, now) { Rule = $"lifecycle.degraded.{d.Cause}" },
                        new Directive.Stop(d.Detail) { Rule = $"lifecycle.degraded.{d.Cause}.replace" },
                    ]),

            (InstanceState.Starting or InstanceState.Running or InstanceState.Ready or InstanceState.Unready, Observation.Exited e) =>
                AfterExit(s, spec, now, random, e, unexpected: true),

            (InstanceState.Stopping, Observation.Exited e) when s.RestartWhenStopped =>
                AfterExit(s, spec, now, random, e, unexpected: false),

            (InstanceState.Stopping, Observation.Exited) =>
                new(s with { State = InstanceState.Stopped, Reason = "stopped" }, []),

            // A stop asked for while the launch was in flight wins over retrying the launch.
            (InstanceState.Stopping, Observation.LaunchFailed) when !s.RestartWhenStopped =>
                new(s with { State = InstanceState.Stopped, Reason = "stopped" }, []),

            (_, Observation.LaunchFailed f) => LaunchFailed(s, spec, now, random, f),

            (InstanceState.Backoff, Observation.Tick) when s.BackoffUntil is { } until && now >= until =>
                new(s with { State = InstanceState.Starting, BackoffUntil = null, Reason = "restarting after backoff" },
                    [new Directive.Launch($"backoff of restart {s.Failures} elapsed") { Rule = "lifecycle.backoff.elapsed" }]),

            (InstanceState.Starting or InstanceState.Running or InstanceState.Ready or InstanceState.Unready, Observation.StopRequested r) =>
                new(s with { State = InstanceState.Stopping, RestartWhenStopped = false, Reason = r.Reason },
                    [new Directive.Stop(r.Reason) { Rule = "lifecycle.stop_requested" }]),

            (InstanceState.Starting or InstanceState.Running or InstanceState.Ready or InstanceState.Unready, Observation.ReplaceRequested r) =>
                new(s with { State = InstanceState.Stopping, RestartWhenStopped = true, ReadySince = null, Reason = r.Reason },
                    [new Directive.Stop(r.Reason) { Rule = "lifecycle.replace_requested" }]),

            // Already going down (liveness kill, replacement): the process is on its way out; only the restart is cancelled.
            (InstanceState.Stopping, Observation.StopRequested r) =>
                new(s with { RestartWhenStopped = false, Reason = r.Reason }, []),

            (InstanceState.Pending or InstanceState.Backoff, Observation.StopRequested r) =>
                new(s with { State = InstanceState.Stopped, BackoffUntil = null, Reason = r.Reason }, []),

            (InstanceState.Stopped, Observation.ResetRequested) =>
                new(s with { State = InstanceState.Pending, Reason = "started by operator" }, []),

            _ => Transition.None(s),
        };
    }

    private static Transition Launched(Lifecycle s, ServiceSpec spec, DateTimeOffset now)
    {
        var started = s with { StartedAt = now, ReadySince = null, RestartWhenStopped = false };
        if (spec.Health.Startup is not null)
        {
            return new(started with { State = InstanceState.Starting, Reason = "waiting for startup probe" }, []);
        }

        return spec.Health.Readiness is not null
            ? new(started with { State = InstanceState.Running, Reason = "waiting for readiness" }, [])
            : BecomeReady(started, now, "launched (no readiness probe)", "lifecycle.starting.launched.ready");
    }

    private static Transition BecomeReady(Lifecycle s, DateTimeOffset now, string reason, string rule) =>
        new(s with { State = InstanceState.Ready, ReadySince = now, Cause = null, Reason = reason },
            s.Failures > 0 || s.Cause is not null ? [new Directive.MitigateIncident { Rule = rule }] : []);

    private static Transition AfterExit(Lifecycle s, ServiceSpec spec, DateTimeOffset now, double random, Observation.Exited e, bool unexpected)
    {
        var directives = new List<Directive>();
        var cause = s.Cause ?? "crash";
        if (unexpected)
        {
            var wanted = spec.Restart.Mode switch
            {
                RestartMode.Never => false,
                RestartMode.OnFailure => !e.Clean,
                _ => true,
            };
            if (!wanted)
            {
                return new(s with { State = InstanceState.Stopped, ReadySince = null, Reason = $"exited ({e.Detail}); restart mode {spec.Restart.Mode.ToString().ToLowerInvariant()}" }, []);
            }

            directives.Add(new Directive.OpenIncident("crash", $"process exited unexpectedly ({e.Detail})", e.At) { Rule = "lifecycle.alive.exited" });
        }

        return Restart(s with { ReadySince = null }, spec, now, random, cause, e.Detail, directives);
    }

    private static Transition LaunchFailed(Lifecycle s, ServiceSpec spec, DateTimeOffset now, double random, Observation.LaunchFailed f)
    {
        if (!f.Retryable)
        {
            return new(s with { State = InstanceState.Fatal, Reason = f.Reason },
                [
                    new Directive.OpenIncident("launch_failed", f.Reason, now) { Rule = "lifecycle.launch_failed" },
                    new Directive.Escalate($"cannot start: {f.Reason}") { Rule = "lifecycle.launch_failed.fatal" },
                ]);
        }

        return Restart(s, spec, now, random, "launch_failed", f.Reason,
            [new Directive.OpenIncident("launch_failed", f.Reason, now) { Rule = "lifecycle.launch_failed" }]);
    }

    private static Transition Restart(Lifecycle s, ServiceSpec spec, DateTimeOffset now, double random, string cause, string detail, List<Directive> directives)
    {
        var recent = RestartBudget.Prune(s.RecentRestarts, spec.Restart, now);
        if (recent.Count >= spec.Restart.Budget)
        {
            var why = $"restart budget spent: {recent.Count} restarts within {spec.Restart.BudgetWindow.TotalSeconds:0.#}s (last: {detail})";
            directives.Add(new Directive.Escalate(why) { Rule = "lifecycle.budget_spent.fatal" });
            return new(s with { State = InstanceState.Fatal, RecentRestarts = recent, RestartWhenStopped = false, Reason = why }, directives);
        }

        var failures = s.Failures + 1;
        var delay = Backoff.Delay(failures, spec.Restart, random);
        var next = s with
        {
            Failures = failures,
            RecentRestarts = [.. recent, now],
            Restarts = s.Restarts + 1,
            RestartWhenStopped = false,
            Cause = cause,
        };
        if (delay == TimeSpan.Zero)
        {
            directives.Add(new Directive.Launch($"restart {failures} after {cause}: {detail}") { Rule = $"lifecycle.{cause}.restart" });
            return new(next with { State = InstanceState.Starting, Reason = $"restarting after {cause}" }, directives);
        }

        return new(next with { State = InstanceState.Backoff, BackoffUntil = now + delay, Reason = $"backing off {delay.TotalMilliseconds:0} ms after {cause} ({detail})" }, directives);
    }
}
