using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Autonomic.Agents.Fleet;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Tasks;

namespace Autonomic.Agents.Tasks;

/// <summary>What a client asks for: a type, its input, and optionally an idempotency key and an attempt limit.</summary>
public sealed record TaskSubmission(string? Type, JsonElement? Input, string? IdempotencyKey = null, int? MaxAttempts = null, string? RequestedBy = null);

/// <summary>The outcome of a submission: the task, and whether it was created now or found by its idempotency key.</summary>
public sealed record SubmitResult(TaskRecord Task, bool Replayed);

/// <summary>A submission the agent cannot accept; <see cref="Errors"/> lists every problem (the API answers 422).</summary>
public sealed class TaskValidationException(IReadOnlyList<string> errors) : Exception(string.Join("; ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>An idempotency key was sent again with a different request (the API answers 409).</summary>
public sealed class IdempotencyConflictException(string key, string taskId)
    : Exception($"idempotency key '{key}' was already used for task {taskId} with a different type or input")
{
    public string TaskId { get; } = taskId;
}

/// <summary>How a cancel request ended.</summary>
public enum CancelOutcome
{
    NotFound,
    /// <summary>The task was queued and is now cancelled.</summary>
    Cancelled,
    /// <summary>The task is running; its worker was asked to stop it.</summary>
    Requested,
    /// <summary>The task had already finished (the API answers 409).</summary>
    AlreadyFinished,
}

/// <summary>
/// The tasks' durable side, shared by the API and the agents: tasks are JSON documents in collection <c>tasks</c> of the
/// <see cref="IDocumentStore"/>, changed only through <see cref="TaskLifecycle"/> with the stored version as a
/// compare-and-set, so concurrent writers (workers, sweeps, cancels) never overwrite one another. Idempotency keys are
/// documents <c>task_idem/KEY</c> naming the task they created. A submission is stored before it is published on
/// <c>task.work</c>, so it is durable when the API answers.
/// </summary>
public sealed class TaskBoard(IDocumentStore docs, IEventBus bus, TimeProvider time, TaskAgentOptions options)
{
    public const string Collection = "tasks";
    public const string IdempotencyCollection = "task_idem";
    public const string MetaCollection = "task_meta";
    public const string AgentName = "tasks";
    public static readonly string Source = AgentNames.Source(AgentName);
    private const int MaxKeyLength = 200;
    private const int MaxCasAttempts = 20;

    public TaskAgentOptions Options => options;

    public IDocumentStore Documents => docs;

    /// <summary>Validates, stores and enqueues; with a known idempotency key returns the task it created instead.</summary>
    public async Task<SubmitResult> SubmitAsync(TaskSubmission submission, CancellationToken cancellationToken = default)
    {
        var errors = TaskInputs.Validate(submission.Type, submission.Input).ToList();
        if (submission.MaxAttempts is { } max && (max < 1 || max > TaskInputs.MaxAttemptsLimit))
        {
            errors.Add($"maxAttempts must be from 1 to {TaskInputs.MaxAttemptsLimit}");
        }

        var key = submission.IdempotencyKey;
        if (key is not null && (key.Length is 0 or > MaxKeyLength || key.Any(c => c < 0x21 || c > 0x7e)))
        {
            errors.Add($"idempotency key must be 1 to {MaxKeyLength} printable ASCII characters without spaces");
        }

        if (errors.Count > 0)
        {
            throw new TaskValidationException(errors);
        }

        var type = submission.Type!;
        var input = submission.Input!.Value;
        var fingerprint = Fingerprint(type, input);
        var now = time.GetUtcNow();
        var created = TaskLifecycle.Create(RecordIds.New("task"), type, input, submission.MaxAttempts ?? options.DefaultMaxAttempts, key, submission.RequestedBy, now);
        var task = created with { DispatchedAt = now };

        for (var round = 0; round < MaxCasAttempts; round++)
        {
            if (key is not null && await FindByKeyAsync(key, fingerprint, cancellationToken).ConfigureAwait(false) is { } existing)
            {
                return new SubmitResult(existing, Replayed: true);
            }

            // The task first, then the key: a key never names a task that was not stored.
            if (await docs.PutDocumentAsync(Collection, task.Id, Serialize(task), 0, cancellationToken).ConfigureAwait(false) is null)
            {
                throw new InvalidOperationException($"task id {task.Id} is already taken");
            }

            if (key is not null)
            {
                var index = JsonSerializer.Serialize(new IdempotencyEntry(task.Id, fingerprint), JsonDefaults.Options);
                if (await docs.PutDocumentAsync(IdempotencyCollection, key, index, 0, cancellationToken).ConfigureAwait(false) is null)
                {
                    // Another submission with this key won the race: ours never existed.
                    await docs.DeleteDocumentAsync(Collection, task.Id, cancellationToken).ConfigureAwait(false);
                    continue;
                }
            }

            await PublishLifecycleAsync(task, TaskEvents.Queued, cancellationToken).ConfigureAwait(false);
            await PublishWorkAsync(task.Id, cancellationToken).ConfigureAwait(false);
            return new SubmitResult(task, Replayed: false);
        }

        throw new InvalidOperationException($"idempotency key '{key}' is contended; try again");
    }

    private async Task<TaskRecord?> FindByKeyAsync(string key, string fingerprint, CancellationToken ct)
    {
        var doc = await docs.GetDocumentAsync(IdempotencyCollection, key, ct).ConfigureAwait(false);
        if (doc is null)
        {
            return null;
        }

        var entry = JsonSerializer.Deserialize<IdempotencyEntry>(doc.Json, JsonDefaults.Options)!;
        if (entry.Fingerprint != fingerprint)
        {
            throw new IdempotencyConflictException(key, entry.TaskId);
        }

        return (await GetAsync(entry.TaskId, ct).ConfigureAwait(false))?.Task;
    }

    /// <summary>The task and its stored version, or null.</summary>
    public async Task<(TaskRecord Task, long Version)?> GetAsync(string id, CancellationToken cancellationToken = default)
    {
        // An id no task can have (empty, longer than the store's ids) names none: not found, not an error.
        if (string.IsNullOrEmpty(id) || id.Length > 200)
        {
            return null;
        }

        var doc = await docs.GetDocumentAsync(Collection, id, cancellationToken).ConfigureAwait(false);
        return doc is null ? null : (Deserialize(doc.Json), doc.Version);
    }

    /// <summary>
    /// Tasks, newest first, at most <paramref name="limit"/>: all, those of one status, or <c>dead</c> (failed after
    /// exhausting their attempts).
    /// </summary>
    public async Task<IReadOnlyList<TaskRecord>> ListAsync(string? status, int limit, CancellationToken cancellationToken = default)
    {
        var all = await ScanAsync(cancellationToken).ConfigureAwait(false);
        IEnumerable<TaskRecord> selected = status switch
        {
            null or "" => all,
            "dead" => all.Where(t => t.Dead),
            _ => all.Where(t => TaskLifecycle.Name(t.Status) == status),
        };
        return selected.OrderByDescending(t => t.CreatedAt).ThenBy(t => t.Id, StringComparer.Ordinal).Take(limit).ToList();
    }

    /// <summary>Every stored task (up to <see cref="TaskAgentOptions.ScanLimit"/>, the most recently updated).</summary>
    public async Task<IReadOnlyList<TaskRecord>> ScanAsync(CancellationToken cancellationToken = default)
    {
        var stored = await docs.ListDocumentsAsync(Collection, options.ScanLimit, cancellationToken).ConfigureAwait(false);
        return stored.Select(d => Deserialize(d.Json)).ToList();
    }

    public async Task<TaskQueueStats> StatsAsync(CancellationToken cancellationToken = default) =>
        TaskQueueStats.Of(await ScanAsync(cancellationToken).ConfigureAwait(false), time.GetUtcNow());

    /// <summary>Cancels a queued task at once, or asks the worker of a running one to stop it.</summary>
    public async Task<(CancelOutcome Outcome, TaskRecord? Task)> CancelAsync(string id, CancellationToken cancellationToken = default)
    {
        var applied = await ApplyAsync(id, new TaskEvent.RequestCancel(), cancellationToken).ConfigureAwait(false);
        if (applied is null)
        {
            return (CancelOutcome.NotFound, null);
        }

        var t = applied.Task;
        return !applied.Accepted ? (CancelOutcome.AlreadyFinished, t)
            : t.Status == TaskState.Cancelled ? (CancelOutcome.Cancelled, t)
            : (CancelOutcome.Requested, t);
    }

    /// <summary>
    /// Applies <paramref name="evt"/> to the stored task with compare-and-set, re-reading on a lost race, and publishes
    /// the lifecycle event of an accepted transition. Null when the task does not exist; a rejected transition carries
    /// the task as stored.
    /// </summary>
    public async Task<TaskTransition?> ApplyAsync(string id, TaskEvent evt, CancellationToken cancellationToken = default)
    {
        for (var round = 0; round < MaxCasAttempts; round++)
        {
            if (await GetAsync(id, cancellationToken).ConfigureAwait(false) is not { } stored)
            {
                return null;
            }

            var transition = TaskLifecycle.Next(stored.Task, evt, options.Retry, time.GetUtcNow(), Random.Shared.NextDouble());
            if (!transition.Accepted)
            {
                return transition;
            }

            if (await docs.PutDocumentAsync(Collection, id, Serialize(transition.Task), stored.Version, cancellationToken).ConfigureAwait(false) is null)
            {
                continue;
            }

            if (transition.Emit is { } type)
            {
                await PublishLifecycleAsync(transition.Task, type, cancellationToken).ConfigureAwait(false);
            }

            return transition;
        }

        throw new InvalidOperationException($"task {id} is changing too fast to apply {evt.GetType().Name}");
    }

    /// <summary>Publishes the work message for a task on <c>task.work</c>.</summary>
    public ValueTask PublishWorkAsync(string taskId, CancellationToken cancellationToken = default) =>
        bus.PublishAsync(CloudEvent.Create(Source, TaskEvents.Work, taskId, time.GetUtcNow(), new WorkMessage(taskId)), cancellationToken);

    private ValueTask PublishLifecycleAsync(TaskRecord task, string type, CancellationToken ct) =>
        // A summary, not the record: a job's environment may carry secrets and the event log keeps every event.
        bus.PublishAsync(CloudEvent.Create(Source, type, task.Id, time.GetUtcNow(), new TaskSummary(
            task.Id, task.Type, TaskLifecycle.Name(task.Status), task.Attempts, task.MaxAttempts, task.NextAttemptAt, task.Error, task.Dead)), ct);

    public static string Serialize(TaskRecord task) => JsonSerializer.Serialize(task, JsonDefaults.Options);

    public static TaskRecord Deserialize(string json) =>
        JsonSerializer.Deserialize<TaskRecord>(json, JsonDefaults.Options) ?? throw new JsonException("a stored task is null");

    private static string Fingerprint(string type, JsonElement input) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(type + "\n" + JsonSerializer.Serialize(input))));

    private sealed record IdempotencyEntry(string TaskId, string Fingerprint);
}

/// <summary>Data of a <c>task.work</c> message.</summary>
public sealed record WorkMessage(string TaskId);

/// <summary>Data of the lifecycle events <c>task.queued|running|succeeded|failed|cancelled</c>.</summary>
public sealed record TaskSummary(string Id, string Type, string Status, int Attempts, int MaxAttempts, DateTimeOffset? NextAttemptAt, string? Error, bool Dead);
