using System.Globalization;
using System.Text.Json;
using Autonomic.Agents.Fleet;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Tasks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Autonomic.Agents.Tasks;

/// <summary>
/// The task-solving agent. Workers consume <c>task.work</c> in consumer group <c>task-workers</c> (one subscription per
/// worker slot, so the bus shares the queue among every slot of every agent), claim the task with a compare-and-set on
/// its stored version (so a duplicate delivery, or two agents, never run one attempt twice), run it through
/// <see cref="TaskExecutor"/> while renewing its lease and watching its cancel flag, and store the outcome through
/// <see cref="TaskLifecycle"/>. Each run is an <see cref="AgentAction"/> (intent, then outcome).
/// A sweep every <see cref="TaskAgentOptions.SweepInterval"/> keeps the system level-based: it dispatches due retries
/// and tasks whose work message was lost, fails or requeues tasks whose worker vanished (lease expired), and asks for
/// more workers with <see cref="EventTypes.ScaleRequested"/> when the queue is deep or old (at most once per cooldown,
/// across all agents, through a stored marker). It does not scale anything itself: a scaler may call
/// <see cref="SetConcurrency"/>.
/// </summary>
public sealed partial class TaskAgent(
    TaskBoard board,
    TaskExecutor executor,
    IEventBus bus,
    IStateStore state,
    TimeProvider time,
    TaskAgentOptions options,
    ILogger<TaskAgent> logger) : BackgroundService
{
    public const string WorkerGroup = "task-workers";
    private const string ScaleMarkerId = "scale";
    private readonly Lock _gate = new();
    private readonly ActionRecorder _actions = new(state, time, TaskBoard.AgentName, bus);
    private readonly Stack<IAsyncDisposable> _workers = new();
    private readonly List<Task> _retiring = [];
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationToken _stopping;
    private DateTimeOffset _startedAt;
    private int _concurrency = Math.Max(1, options.Concurrency);
    private bool _firstSweep = true;

    /// <summary>Completes once the workers are subscribed.</summary>
    public Task Started => _started.Task;

    /// <summary>Worker slots currently consuming.</summary>
    public int Concurrency
    {
        get
        {
            lock (_gate)
            {
                return _concurrency;
            }
        }
    }

    /// <summary>The queue as of the last sweep.</summary>
    public TaskQueueStats? LastStats { get; private set; }

    /// <summary>
    /// Changes how many tasks this agent runs at once. New slots start consuming at once; removed slots finish the task
    /// they run and then stop. For a scaling agent acting on this agent's <see cref="EventTypes.ScaleRequested"/>.
    /// </summary>
    public void SetConcurrency(int n)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(n, 1);
        lock (_gate)
        {
            _concurrency = n;
            if (_stopping == default || _stopping.IsCancellationRequested)
            {
                return;
            }

            ResizeLocked();
        }

        LogConcurrency(n);
    }

    private void ResizeLocked()
    {
        while (_workers.Count < _concurrency)
        {
            _workers.Push(bus.Subscribe(TaskEvents.Work, WorkerGroup, OnWorkAsync, new SubscriptionOptions { Concurrency = 1, MaxAttempts = 10 }));
        }

        while (_workers.Count > _concurrency)
        {
            _retiring.Add(_workers.Pop().DisposeAsync().AsTask());
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _startedAt = time.GetUtcNow();
        lock (_gate)
        {
            _stopping = stoppingToken;
            ResizeLocked();
        }

        _started.TrySetResult();
        try
        {
            using var timer = new PeriodicTimer(options.SweepInterval, time);
            do
            {
                try
                {
                    await SweepAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogSweepFailed(ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            List<Task> stops;
            lock (_gate)
            {
                stops = [.. _workers.Select(w => w.DisposeAsync().AsTask()), .. _retiring];
                _workers.Clear();
            }

            await Task.WhenAll(stops).ConfigureAwait(false);
        }
    }

    /// <summary>One pass over the store: dispatch, lost workers, stats and the scale request.</summary>
    public async Task SweepAsync(CancellationToken ct)
    {
        var tasks = await board.ScanAsync(ct).ConfigureAwait(false);
        var now = time.GetUtcNow();
        foreach (var t in tasks)
        {
            if (TaskLifecycle.IsDue(t, now) && NeedsDispatch(t, now))
            {
                var applied = await board.ApplyAsync(t.Id, new TaskEvent.Dispatched(), ct).ConfigureAwait(false);
                if (applied is { Accepted: true })
                {
                    await board.PublishWorkAsync(t.Id, ct).ConfigureAwait(false);
                }
            }
            else if (t.Status == TaskState.Running && t.LeaseUntil < now)
            {
                var applied = await board.ApplyAsync(t.Id, new TaskEvent.LeaseExpired(), ct).ConfigureAwait(false);
                if (applied is { Accepted: true } a)
                {
                    LogLeaseExpired(t.Id, t.Owner ?? "?", a.Rule);
                    var recover = _actions.New("task.recover", t.Id, a.Rule, $"worker {t.Owner} stopped renewing attempt {t.Attempts}",
                        Evidence(t, ("leaseUntil", t.LeaseUntil?.ToString("O", CultureInfo.InvariantCulture) ?? "-")));
                    await _actions.DoneAsync(recover, ActionStatus.Succeeded,
                        $"{TaskLifecycle.Name(a.Task.Status)}{(a.Task.NextAttemptAt is { } at ? $", next attempt at {at:O}" : "")}", ct).ConfigureAwait(false);
                }
            }
        }

        _firstSweep = false;
        var stats = TaskQueueStats.Of(tasks, now);
        LastStats = stats;
        await MaybeRequestScaleAsync(stats, now, ct).ConfigureAwait(false);
    }

    // After a restart the in-memory bus has lost its messages: the first sweep republishes what was queued before it.
    private bool NeedsDispatch(TaskRecord t, DateTimeOffset now) =>
        t.DispatchedAt is not { } at || now - at >= options.RedispatchAfter || (_firstSweep && at < _startedAt);

    private async Task MaybeRequestScaleAsync(TaskQueueStats stats, DateTimeOffset now, CancellationToken ct)
    {
        var marker = await board.Documents.GetDocumentAsync(TaskBoard.MetaCollection, ScaleMarkerId, ct).ConfigureAwait(false);
        DateTimeOffset? last = marker is null ? null : JsonSerializer.Deserialize<ScaleMarker>(marker.Json, JsonDefaults.Options)!.RequestedAt;
        if (TaskScaling.Decide(stats, last, options.Scale, now) is not { } request)
        {
            return;
        }

        // The marker is the cooldown shared by every task agent: only the one whose write lands asks.
        var json = JsonSerializer.Serialize(new ScaleMarker(now, options.Owner), JsonDefaults.Options);
        if (await board.Documents.PutDocumentAsync(TaskBoard.MetaCollection, ScaleMarkerId, json, marker?.Version ?? 0, ct).ConfigureAwait(false) is null)
        {
            return;
        }

        var evidence = new Dictionary<string, string>
        {
            ["queueDepth"] = stats.Depth.ToString(CultureInfo.InvariantCulture),
            ["oldestAgeSeconds"] = stats.OldestAgeSeconds.ToString(CultureInfo.InvariantCulture),
            ["running"] = stats.Running.ToString(CultureInfo.InvariantCulture),
            ["concurrency"] = Concurrency.ToString(CultureInfo.InvariantCulture),
            ["depthThreshold"] = options.Scale.DepthThreshold.ToString(CultureInfo.InvariantCulture),
            ["ageThresholdSeconds"] = options.Scale.AgeThreshold.TotalSeconds.ToString(CultureInfo.InvariantCulture),
        };
        var action = await _actions.IntentAsync(_actions.New("scale.request", request.Service, "tasks.scale.request", request.Reason, evidence), ct).ConfigureAwait(false);
        await bus.PublishAsync(CloudEvent.Create(TaskBoard.Source, EventTypes.ScaleRequested, request.Service, now, request), ct).ConfigureAwait(false);
        await _actions.CompleteAsync(action, ActionStatus.Succeeded, $"published {EventTypes.ScaleRequested} for {request.Service}", ct).ConfigureAwait(false);
        LogScaleRequested(request.Service, request.Reason);
    }

    private async Task OnWorkAsync(CloudEvent evt, CancellationToken deliveryToken)
    {
        // The run follows the agent's life, not the subscription's: a slot retired by SetConcurrency finishes its task.
        var ct = _stopping;
        if (evt.Data is not { } data || data.Deserialize<WorkMessage>(JsonDefaults.Options)?.TaskId is not { Length: > 0 } id)
        {
            LogBadWork(evt.Id);
            return;
        }

        if (await board.GetAsync(id, ct).ConfigureAwait(false) is not { } stored || !TaskLifecycle.IsDue(stored.Task, time.GetUtcNow()))
        {
            // A duplicate or stale delivery: the task ran, runs, is finished, or waits for its backoff (the sweep sends it then).
            return;
        }

        var claim = await board.ApplyAsync(id, new TaskEvent.Claim(options.Owner, time.GetUtcNow() + options.LeaseTtl), ct).ConfigureAwait(false);
        if (claim is not { Accepted: true })
        {
            return;
        }

        await RunClaimedAsync(claim.Task, ct).ConfigureAwait(false);
    }

    private async Task RunClaimedAsync(TaskRecord task, CancellationToken stopping)
    {
        var attempt = task.Attempts;
        var action = await _actions.IntentAsync(_actions.New("task.run", task.Id, "tasks.claim", $"run {task.Type} task {task.Id}, attempt {attempt} of {task.MaxAttempts}",
            Evidence(task)), stopping).ConfigureAwait(false);
        LogRunning(task.Id, task.Type, attempt, task.MaxAttempts);

        using var run = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var why = new StopReason();
        using var heartbeatStop = new CancellationTokenSource();
        var heartbeat = HeartbeatAsync(task.Id, attempt, run, why, heartbeatStop.Token);

        TaskOutcome? outcome = null;
        try
        {
            outcome = await executor.ExecuteAsync(task, run.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (run.IsCancellationRequested)
        {
        }
        finally
        {
            await heartbeatStop.CancelAsync().ConfigureAwait(false);
            await heartbeat.ConfigureAwait(false);
        }

        // Outcomes are stored even while the agent stops: an attempt that ran must not be lost.
        var write = CancellationToken.None;
        TaskEvent finish = outcome switch
        {
            { Ok: true } => new TaskEvent.Succeed(options.Owner, attempt, outcome.Result),
            { } o => new TaskEvent.Fail(options.Owner, attempt, o.Error ?? "failed", o.Permanent, o.Result),
            null when why.Value == "cancel" => new TaskEvent.Stopped(options.Owner, attempt),
            null when why.Value == "lost" => new TaskEvent.Fail(options.Owner, attempt, "lost the task's lease", false),
            null => new TaskEvent.Release(options.Owner, attempt),
        };
        var applied = await board.ApplyAsync(task.Id, finish, write).ConfigureAwait(false);
        var after = applied?.Task;
        var (status, text) = applied switch
        {
            null => (ActionStatus.Failed, "the task was deleted while it ran"),
            { Accepted: false } a => (ActionStatus.Failed, $"outcome not stored: {a.Rejection}"),
            _ when after!.Status == TaskState.Succeeded => (ActionStatus.Succeeded, "succeeded"),
            _ when after!.Status == TaskState.Cancelled => (ActionStatus.Succeeded, "cancelled while running; stopped"),
            _ when after!.Status == TaskState.Failed => (ActionStatus.Failed, $"failed{(after.Dead ? " after the last attempt (dead letter)" : " permanently")}: {after.Error}"),
            _ when finish is TaskEvent.Release => (ActionStatus.Skipped, "agent stopping: attempt given back to the queue"),
            _ => (ActionStatus.Failed, $"attempt failed, retry at {after!.NextAttemptAt:O}: {after.Error}"),
        };
        await _actions.CompleteAsync(action, status, text, write).ConfigureAwait(false);
        LogFinished(task.Id, attempt, text);
    }

    /// <summary>Renews the lease; cancels the run when cancellation was requested or the lease was lost.</summary>
    private async Task HeartbeatAsync(string id, int attempt, CancellationTokenSource run, StopReason why, CancellationToken stop)
    {
        try
        {
            using var timer = new PeriodicTimer(options.HeartbeatInterval, time);
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
            {
                TaskTransition? renewed;
                try
                {
                    renewed = await board.ApplyAsync(id, new TaskEvent.Renew(options.Owner, attempt, time.GetUtcNow() + options.LeaseTtl), stop).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // The store may come back before the lease ends; the next beat tries again.
                    LogHeartbeatFailed(ex, id);
                    continue;
                }

                if (renewed is not { Accepted: true })
                {
                    why.Value = "lost";
                    await run.CancelAsync().ConfigureAwait(false);
                    return;
                }

                if (renewed.Task.CancelRequested)
                {
                    why.Value = "cancel";
                    LogCancelling(id);
                    await run.CancelAsync().ConfigureAwait(false);
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    private static Dictionary<string, string> Evidence(TaskRecord t, params (string Key, string Value)[] more)
    {
        var e = new Dictionary<string, string>
        {
            ["type"] = t.Type,
            ["attempt"] = t.Attempts.ToString(CultureInfo.InvariantCulture),
            ["maxAttempts"] = t.MaxAttempts.ToString(CultureInfo.InvariantCulture),
            ["owner"] = t.Owner ?? "-",
            ["requestedBy"] = t.RequestedBy ?? "-",
        };
        if (t.Error is { } error)
        {
            e["previousError"] = error;
        }

        foreach (var (k, v) in more)
        {
            e[k] = v;
        }

        return e;
    }

    private sealed class StopReason
    {
        public volatile string? Value;
    }

    private sealed record ScaleMarker(DateTimeOffset RequestedAt, string Owner);

    [LoggerMessage(Level = LogLevel.Information, Message = "task {TaskId}: running {Type}, attempt {Attempt} of {MaxAttempts}")]
    private partial void LogRunning(string taskId, string type, int attempt, int maxAttempts);

    [LoggerMessage(Level = LogLevel.Information, Message = "task {TaskId}: attempt {Attempt} {Outcome}")]
    private partial void LogFinished(string taskId, int attempt, string outcome);

    [LoggerMessage(Level = LogLevel.Information, Message = "task {TaskId}: cancellation requested; stopping it")]
    private partial void LogCancelling(string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "task {TaskId}: worker {Owner} lost its lease ({Rule})")]
    private partial void LogLeaseExpired(string taskId, string owner, string rule);

    [LoggerMessage(Level = LogLevel.Warning, Message = "task {TaskId}: renewing the lease failed")]
    private partial void LogHeartbeatFailed(Exception exception, string taskId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "asked for more workers for {Service}: {Reason}")]
    private partial void LogScaleRequested(string service, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "task workers: concurrency set to {Concurrency}")]
    private partial void LogConcurrency(int concurrency);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ignored task.work message {EventId} without a task id")]
    private partial void LogBadWork(string eventId);

    [LoggerMessage(Level = LogLevel.Error, Message = "task sweep failed; retrying on the next tick")]
    private partial void LogSweepFailed(Exception exception);
}
