using Autonomic.Core.Model;

namespace Autonomic.Core.Tasks;

/// <summary>
/// The shape of the queue at one moment. <see cref="Depth"/> counts tasks waiting for a worker now (queued and due);
/// tasks waiting out a retry backoff are counted in <see cref="WaitingRetry"/> instead, since more workers would not
/// run them sooner.
/// </summary>
public sealed record TaskQueueStats
{
    public int Depth { get; init; }
    /// <summary>Age of the longest-waiting due task (since it became due), 0 when none waits.</summary>
    public double OldestAgeSeconds { get; init; }
    public int Running { get; init; }
    public int WaitingRetry { get; init; }
    /// <summary>Failed tasks that ran out of attempts.</summary>
    public int Dead { get; init; }
    /// <summary>Tasks per status name (queued, running, succeeded, failed, cancelled).</summary>
    public IReadOnlyDictionary<string, int> ByStatus { get; init; } = new Dictionary<string, int>();

    /// <summary>Computes the stats of <paramref name="tasks"/> at <paramref name="now"/>.</summary>
    public static TaskQueueStats Of(IEnumerable<TaskRecord> tasks, DateTimeOffset now)
    {
        var depth = 0;
        var running = 0;
        var retry = 0;
        var dead = 0;
        var oldest = TimeSpan.Zero;
        var byStatus = Enum.GetValues<TaskState>().ToDictionary(TaskLifecycle.Name, _ => 0, StringComparer.Ordinal);
        foreach (var t in tasks)
        {
            byStatus[TaskLifecycle.Name(t.Status)]++;
            switch (t.Status)
            {
                case TaskState.Queued when TaskLifecycle.IsDue(t, now):
                    depth++;
                    var waiting = now - (t.NextAttemptAt ?? t.CreatedAt);
                    oldest = waiting > oldest ? waiting : oldest;
                    break;
                case TaskState.Queued:
                    retry++;
                    break;
                case TaskState.Running:
                    running++;
                    break;
                case TaskState.Failed when t.Dead:
                    dead++;
                    break;
            }
        }

        return new TaskQueueStats
        {
            Depth = depth,
            OldestAgeSeconds = Math.Round(oldest.TotalSeconds, 3),
            Running = running,
            WaitingRetry = retry,
            Dead = dead,
            ByStatus = byStatus,
        };
    }
}

/// <summary>When the task agent asks for more workers.</summary>
public sealed record TaskScalePolicy
{
    /// <summary>The service named in the <see cref="ScaleRequest"/> (the worker pool).</summary>
    public string Service { get; init; } = "tasks";
    /// <summary>Ask when more than this many tasks wait for a worker ...</summary>
    public int DepthThreshold { get; init; } = 100;
    /// <summary>... or when the oldest has waited longer than this.</summary>
    public TimeSpan AgeThreshold { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>At most one request per this period.</summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.FromMinutes(1);
}

/// <summary>The pure scale decision of the task agent.</summary>
public static class TaskScaling
{
    /// <summary>
    /// A request when the queue is past a threshold and the last request is at least a cooldown ago; else null.
    /// </summary>
    public static ScaleRequest? Decide(TaskQueueStats stats, DateTimeOffset? lastRequestAt, TaskScalePolicy policy, DateTimeOffset now)
    {
        var deep = stats.Depth > policy.DepthThreshold;
        var old = stats.Depth > 0 && stats.OldestAgeSeconds > policy.AgeThreshold.TotalSeconds;
        if (!deep && !old)
        {
            return null;
        }

        if (lastRequestAt is { } last && now - last < policy.Cooldown)
        {
            return null;
        }

        var reason = deep
            ? $"queue depth {stats.Depth} > {policy.DepthThreshold}"
            : $"oldest queued task waited {stats.OldestAgeSeconds:0.#} s > {policy.AgeThreshold.TotalSeconds:0.#} s";
        return new ScaleRequest(policy.Service, reason, stats.Depth, stats.OldestAgeSeconds);
    }
}
