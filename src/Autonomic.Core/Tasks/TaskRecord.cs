using System.Text.Json;

namespace Autonomic.Core.Tasks;

/// <summary>Where a task is in its life. <see cref="Succeeded"/>, <see cref="Failed"/> and <see cref="Cancelled"/> are final.</summary>
public enum TaskState
{
    /// <summary>Waiting for a worker (or for its next attempt, see <see cref="TaskRecord.NextAttemptAt"/>).</summary>
    Queued,
    /// <summary>A worker holds it (see <see cref="TaskRecord.Owner"/> and <see cref="TaskRecord.LeaseUntil"/>).</summary>
    Running,
    Succeeded,
    /// <summary>Gave up: a permanent error, or the last of its attempts failed (then it is also <see cref="TaskRecord.Dead"/>).</summary>
    Failed,
    Cancelled,
}

/// <summary>Groups of <see cref="TaskState"/>.</summary>
public static class TaskStates
{
    /// <summary>True for the states a task never leaves.</summary>
    public static bool IsFinal(TaskState state) => state is TaskState.Succeeded or TaskState.Failed or TaskState.Cancelled;
}

/// <summary>
/// One unit of server-side work a user asked for (copy an object, fetch a URL into the store, invoke a function,
/// run a one-off job), stored as a JSON document. Changed only through <see cref="TaskLifecycle"/>; the stored
/// document's version makes every change a compare-and-set, so two workers never both run one attempt.
/// </summary>
public sealed record TaskRecord
{
    public required string Id { get; init; }
    /// <summary>One of <see cref="TaskTypes.All"/>.</summary>
    public required string Type { get; init; }
    /// <summary>The type's input, already validated by <see cref="TaskInputs.Validate"/>.</summary>
    public required JsonElement Input { get; init; }
    public TaskState Status { get; init; }
    /// <summary>Attempts started so far (the running one included). Never above <see cref="MaxAttempts"/>.</summary>
    public int Attempts { get; init; }
    public int MaxAttempts { get; init; } = 3;
    /// <summary>A queued task is not run before this time (set by a retry's backoff); null means at once.</summary>
    public DateTimeOffset? NextAttemptAt { get; init; }
    public string? IdempotencyKey { get; init; }
    /// <summary>What the work produced (object info, function response, exit code and log tail).</summary>
    public JsonElement? Result { get; init; }
    /// <summary>The last error; kept while a retry waits, cleared on success.</summary>
    public string? Error { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>When the current (or last) attempt started.</summary>
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; init; }
    public string? RequestedBy { get; init; }

    /// <summary>A dead letter: it failed because it ran out of attempts (not because of a permanent error).</summary>
    public bool Dead { get; init; }
    /// <summary>Someone asked to cancel it while it ran; the worker stops it and marks it cancelled.</summary>
    public bool CancelRequested { get; init; }
    /// <summary>The worker running the current attempt.</summary>
    public string? Owner { get; init; }
    /// <summary>The worker renews this while it runs; past it, the worker counts as lost and the attempt as failed.</summary>
    public DateTimeOffset? LeaseUntil { get; init; }
    /// <summary>When a work message for the current queued period was last published; null when none was.</summary>
    public DateTimeOffset? DispatchedAt { get; init; }
    public DateTimeOffset? UpdatedAt { get; init; }
}

/// <summary>The names of the lifecycle events (CloudEvent types) published for tasks.</summary>
public static class TaskEvents
{
    public const string Queued = "task.queued";
    public const string Running = "task.running";
    public const string Succeeded = "task.succeeded";
    public const string Failed = "task.failed";
    public const string Cancelled = "task.cancelled";

    /// <summary>The work queue's topic: data <c>{ "taskId": ... }</c>.</summary>
    public const string Work = "task.work";

    /// <summary>The lifecycle event announcing <paramref name="state"/>.</summary>
    public static string For(TaskState state) => state switch
    {
        TaskState.Queued => Queued,
        TaskState.Running => Running,
        TaskState.Succeeded => Succeeded,
        TaskState.Failed => Failed,
        _ => Cancelled,
    };
}
