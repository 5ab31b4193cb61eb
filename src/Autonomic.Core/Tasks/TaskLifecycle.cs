using System.Text.Json;
using Autonomic.Core.Policies;
using Autonomic.Core.Specs;

namespace Autonomic.Core.Tasks;

/// <summary>How failed attempts are retried: exponential backoff from <see cref="BackoffInitial"/> to <see cref="BackoffMax"/> with jitter.</summary>
public sealed record TaskRetryPolicy
{
    /// <summary>Delay before the second attempt; each later one doubles it.</summary>
    public TimeSpan BackoffInitial { get; init; } = TimeSpan.FromSeconds(1);
    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Fraction (0..1) by which a delay is randomly shortened or lengthened, so failed tasks do not retry in lockstep.</summary>
    public double Jitter { get; init; } = 0.2;

    /// <summary>The delay after failed attempt number <paramref name="attempt"/> (1-based); <paramref name="random"/> is uniform in [0, 1).</summary>
    public TimeSpan DelayAfter(int attempt, double random) =>
        // Backoff counts restarts and makes the first immediate: attempt n's retry is restart n + 1.
        Backoff.Delay(Math.Max(attempt, 1) + 1, new RestartPolicy { BackoffInitial = BackoffInitial, BackoffMax = BackoffMax, Jitter = Jitter }, random);
}

/// <summary>Something that happens to a task; <see cref="TaskLifecycle.Next"/> turns it into the next record.</summary>
public abstract record TaskEvent
{
    private TaskEvent()
    {
    }

    /// <summary>A work message for the queued task was published.</summary>
    public sealed record Dispatched : TaskEvent;

    /// <summary>A worker takes the queued, due task for one attempt, holding it until <paramref name="LeaseUntil"/>.</summary>
    public sealed record Claim(string Owner, DateTimeOffset LeaseUntil) : TaskEvent;

    /// <summary>The worker running attempt <paramref name="Attempt"/> is alive and extends its hold.</summary>
    public sealed record Renew(string Owner, int Attempt, DateTimeOffset LeaseUntil) : TaskEvent;

    /// <summary>The attempt finished its work.</summary>
    public sealed record Succeed(string Owner, int Attempt, JsonElement? Result) : TaskEvent;

    /// <summary>
    /// The attempt failed. A <paramref name="Permanent"/> error (bad input found at run time, a missing source, an unknown
    /// function) will fail again, so it is not retried; a transient one is retried while attempts remain.
    /// </summary>
    public sealed record Fail(string Owner, int Attempt, string Error, bool Permanent, JsonElement? Result = null) : TaskEvent;

    /// <summary>Someone asked to cancel: a queued task ends at once, a running one is flagged for its worker.</summary>
    public sealed record RequestCancel : TaskEvent;

    /// <summary>The worker stopped the attempt because cancellation was requested.</summary>
    public sealed record Stopped(string Owner, int Attempt) : TaskEvent;

    /// <summary>The worker is shutting down and gives the attempt back uncounted.</summary>
    public sealed record Release(string Owner, int Attempt) : TaskEvent;

    /// <summary>The running task's lease ran out: its worker is gone. Counts as a transient failure.</summary>
    public sealed record LeaseExpired : TaskEvent;
}

/// <summary>
/// The result of one step: the next record, the lifecycle event to publish (null when none), the rule that decided,
/// and, when the event does not apply to the task as it is, why (then <see cref="Task"/> is the unchanged input).
/// </summary>
public sealed record TaskTransition(TaskRecord Task, string? Emit, string Rule, string? Rejection = null)
{
    public bool Accepted => Rejection is null;
}

/// <summary>
/// The task state machine, pure: (record, event, policy, now, random) -> transition. Rules, each with a name:
/// <list type="bullet">
/// <item><c>claim</c>: queued, due, not cancel-requested, attempts left -> running, attempts + 1.</item>
/// <item><c>renew</c>: running, same owner and attempt -> lease extended.</item>
/// <item><c>succeed</c>: running (same owner and attempt) -> succeeded.</item>
/// <item><c>retry</c>: a transient failure with attempts left -> queued after backoff (with jitter).</item>
/// <item><c>exhausted</c>: a transient failure of the last attempt -> failed and dead.</item>
/// <item><c>permanent</c>: a permanent failure -> failed at once.</item>
/// <item><c>cancel.queued</c>: cancel of a queued task -> cancelled at once.</item>
/// <item><c>cancel.requested</c> and <c>stopped</c>: cancel of a running task flags it; its worker stops it -> cancelled.</item>
/// <item><c>release</c>: a worker shutting down -> queued again, the attempt not counted.</item>
/// <item><c>lease.expired</c>: the worker vanished -> like a transient failure (or cancelled when cancel was requested).</item>
/// </list>
/// Final states accept nothing. A stale event (another owner or attempt) is rejected, never applied.
/// </summary>
public static class TaskLifecycle
{
    /// <summary>A new queued task.</summary>
    public static TaskRecord Create(string id, string type, JsonElement input, int maxAttempts, string? idempotencyKey, string? requestedBy, DateTimeOffset now) => new()
    {
        Id = id,
        Type = type,
        Input = input.Clone(),
        Status = TaskState.Queued,
        MaxAttempts = Math.Clamp(maxAttempts, 1, TaskInputs.MaxAttemptsLimit),
        IdempotencyKey = idempotencyKey,
        RequestedBy = requestedBy,
        CreatedAt = now,
        UpdatedAt = now,
    };

    /// <summary>True when a worker may claim the task now.</summary>
    public static bool IsDue(TaskRecord task, DateTimeOffset now) =>
        task.Status == TaskState.Queued && !task.CancelRequested && (task.NextAttemptAt is null || task.NextAttemptAt <= now);

    public static TaskTransition Next(TaskRecord task, TaskEvent evt, TaskRetryPolicy policy, DateTimeOffset now, double random)
    {
        if (TaskStates.IsFinal(task.Status))
        {
            return Reject(task, "final", $"task {task.Id} is already {Name(task.Status)}");
        }

        var t = task with { UpdatedAt = now };
        switch (evt)
        {
            case TaskEvent.Dispatched:
                return task.Status == TaskState.Queued
                    ? new(t with { DispatchedAt = now }, null, "dispatch")
                    : Reject(task, "dispatch", "only a queued task is dispatched");

            case TaskEvent.Claim c:
                if (task.Status != TaskState.Queued)
                {
                    return Reject(task, "claim", $"task is {Name(task.Status)}, not queued");
                }

                if (task.Attempts >= task.MaxAttempts)
                {
                    return Reject(task, "claim", "no attempts left");
                }

                if (!IsDue(task, now))
                {
                    return Reject(task, "claim", "not due yet");
                }

                return new(t with
                {
                    Status = TaskState.Running,
                    Attempts = task.Attempts + 1,
                    Owner = c.Owner,
                    LeaseUntil = c.LeaseUntil,
                    StartedAt = now,
                    NextAttemptAt = null,
                }, TaskEvents.Running, "claim");

            case TaskEvent.Renew r:
                return IsRunBy(task, r.Owner, r.Attempt)
                    ? new(t with { LeaseUntil = r.LeaseUntil }, null, "renew")
                    : Reject(task, "renew", StaleReason(task, r.Owner, r.Attempt));

            case TaskEvent.Succeed s:
                return IsRunBy(task, s.Owner, s.Attempt)
                    ? new(Finished(t, TaskState.Succeeded, now) with { Result = s.Result, Error = null }, TaskEvents.Succeeded, "succeed")
                    : Reject(task, "succeed", StaleReason(task, s.Owner, s.Attempt));

            case TaskEvent.Fail f:
                return IsRunBy(task, f.Owner, f.Attempt)
                    ? Failure(t with { Result = f.Result ?? task.Result }, f.Error, f.Permanent, policy, now, random)
                    : Reject(task, "fail", StaleReason(task, f.Owner, f.Attempt));

            case TaskEvent.RequestCancel:
                return task.Status == TaskState.Queued
                    ? new(Finished(t, TaskState.Cancelled, now) with { CancelRequested = true }, TaskEvents.Cancelled, "cancel.queued")
                    : new(t with { CancelRequested = true }, null, "cancel.requested");

            case TaskEvent.Stopped s:
                return IsRunBy(task, s.Owner, s.Attempt)
                    ? new(Finished(t, TaskState.Cancelled, now) with { Error = "cancelled while running" }, TaskEvents.Cancelled, "stopped")
                    : Reject(task, "stopped", StaleReason(task, s.Owner, s.Attempt));

            case TaskEvent.Release r:
                return IsRunBy(task, r.Owner, r.Attempt)
                    ? new(t with
                    {
                        Status = TaskState.Queued,
                        Attempts = task.Attempts - 1,
                        Owner = null,
                        LeaseUntil = null,
                        NextAttemptAt = null,
                        DispatchedAt = null,
                    }, TaskEvents.Queued, "release")
                    : Reject(task, "release", StaleReason(task, r.Owner, r.Attempt));

            case TaskEvent.LeaseExpired:
                if (task.Status != TaskState.Running || task.LeaseUntil is not { } until || until > now)
                {
                    return Reject(task, "lease.expired", "the task is not running on an expired lease");
                }

                if (task.CancelRequested)
                {
                    return new(Finished(t, TaskState.Cancelled, now) with { Error = "cancelled; its worker was lost" }, TaskEvents.Cancelled, "lease.expired");
                }

                var lost = Failure(t, $"worker {task.Owner} was lost (lease expired at {until:O})", permanent: false, policy, now, random);
                return lost with { Rule = "lease.expired." + lost.Rule };

            default:
                return Reject(task, "unknown", $"unknown event {evt.GetType().Name}");
        }
    }

    private static TaskTransition Failure(TaskRecord t, string error, bool permanent, TaskRetryPolicy policy, DateTimeOffset now, double random)
    {
        if (permanent)
        {
            return new(Finished(t, TaskState.Failed, now) with { Error = error }, TaskEvents.Failed, "permanent");
        }

        if (t.Attempts >= t.MaxAttempts)
        {
            return new(Finished(t, TaskState.Failed, now) with { Error = error, Dead = true }, TaskEvents.Failed, "exhausted");
        }

        return new(t with
        {
            Status = TaskState.Queued,
            Error = error,
            Owner = null,
            LeaseUntil = null,
            DispatchedAt = null,
            NextAttemptAt = now + policy.DelayAfter(t.Attempts, random),
        }, TaskEvents.Queued, "retry");
    }

    private static TaskRecord Finished(TaskRecord t, TaskState state, DateTimeOffset now) =>
        t with { Status = state, FinishedAt = now, Owner = null, LeaseUntil = null, NextAttemptAt = null };

    private static bool IsRunBy(TaskRecord task, string owner, int attempt) =>
        task.Status == TaskState.Running && task.Owner == owner && task.Attempts == attempt;

    private static string StaleReason(TaskRecord task, string owner, int attempt) =>
        task.Status != TaskState.Running
            ? $"task is {Name(task.Status)}, not running"
            : $"attempt {attempt} of {owner} is not the current one (attempt {task.Attempts} of {task.Owner})";

    private static TaskTransition Reject(TaskRecord task, string rule, string why) => new(task, null, rule, why);

    /// <summary>The state's name as the API writes it.</summary>
    public static string Name(TaskState state) => state.ToString().ToLowerInvariant();
}
