using Autonomic.Core.Tasks;

namespace Autonomic.Agents.Tasks;

/// <summary>Knobs of the task agent and of the task API's store side.</summary>
public sealed class TaskAgentOptions
{
    /// <summary>Tasks this agent runs at once (consumers of <c>task.work</c> in group <c>task-workers</c>); see <see cref="TaskAgent.SetConcurrency"/>.</summary>
    public int Concurrency { get; set; } = 4;
    /// <summary>How long a claimed task is held without renewal; past it, another agent counts the worker as lost.</summary>
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(30);
    /// <summary>How often a running task's lease is renewed and its cancel flag read.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(2);
    /// <summary>How often the agent sweeps the store: due retries, lost workers, queue stats and scale requests.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>A queued, due task whose work message is older than this is published again (a lost message never loses a task).</summary>
    public TimeSpan RedispatchAfter { get; set; } = TimeSpan.FromMinutes(2);
    public TaskRetryPolicy Retry { get; set; } = new();
    public TaskScalePolicy Scale { get; set; } = new();
    /// <summary>Attempts of a task whose submission names none.</summary>
    public int DefaultMaxAttempts { get; set; } = 3;
    /// <summary>Directory of job logs (<c>TASK-ID.log</c>).</summary>
    public string LogDirectory { get; set; } = ".autonomic/logs/tasks";
    /// <summary>Lines of a job's log kept in its result.</summary>
    public int LogTailLines { get; set; } = 20;
    /// <summary>Time between SIGTERM and SIGKILL when a job is cancelled or times out.</summary>
    public TimeSpan JobStopGrace { get; set; } = TimeSpan.FromSeconds(5);
    /// <summary>Most tasks read when listing, counting stats or sweeping (the newest by update).</summary>
    public int ScanLimit { get; set; } = 10_000;
    /// <summary>This agent's name in task leases: unique per process.</summary>
    public string Owner { get; set; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";
}
