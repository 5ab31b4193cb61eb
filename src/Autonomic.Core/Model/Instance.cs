namespace Autonomic.Core.Model;

/// <summary>The life of one instance, after supervisor's process states.</summary>
public enum InstanceState
{
    /// <summary>Wanted but not launched yet.</summary>
    Pending,
    /// <summary>Launched; the startup probe (if any) has not passed yet.</summary>
    Starting,
    /// <summary>Alive and started, not ready yet.</summary>
    Running,
    /// <summary>Readiness passes (or there is no readiness probe): gets traffic.</summary>
    Ready,
    /// <summary>Was ready, readiness now fails; alive, gets no traffic.</summary>
    Unready,
    /// <summary>Asked to stop (SIGTERM, SIGKILL after the grace period).</summary>
    Stopping,
    /// <summary>The process has ended; a decision is due.</summary>
    Exited,
    /// <summary>Waiting out a restart delay.</summary>
    Backoff,
    /// <summary>Will not be restarted: the restart budget is spent or it cannot start. Needs a human.</summary>
    Fatal,
    /// <summary>Stopped on purpose.</summary>
    Stopped,
}

/// <summary>Named groups of states.</summary>
public static class InstanceStates
{
    /// <summary>States in which a process exists.</summary>
    public static bool IsAlive(InstanceState s) => s is InstanceState.Starting or InstanceState.Running
        or InstanceState.Ready or InstanceState.Unready or InstanceState.Stopping;

    /// <summary>States in which probes are run.</summary>
    public static bool IsProbed(InstanceState s) => s is InstanceState.Starting or InstanceState.Running
        or InstanceState.Ready or InstanceState.Unready;
}

/// <summary>One instance as recorded in the store and shown by the API.</summary>
public sealed record InstanceRecord
{
    public required string Id { get; init; }
    public required string Service { get; init; }
    public int Index { get; init; }
    public InstanceState State { get; init; }
    public int? Pid { get; init; }
    /// <summary>Process start time in clock ticks since boot (<c>/proc/PID/stat</c> field 22); with the pid it identifies the process.</summary>
    public long? StartTicks { get; init; }
    public int? Port { get; init; }
    public DateTimeOffset? StartedAt { get; init; }
    public DateTimeOffset? ReadySince { get; init; }
    /// <summary>Restarts since the instance was created.</summary>
    public int Restarts { get; init; }
    /// <summary>Why it is in its state, for people.</summary>
    public string? Reason { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>
    /// The lease token (fencing token) of the healer that wrote it. The store refuses a write with a lower token than
    /// the stored one: a healer that lost its lease without noticing cannot overwrite its successor's records.
    /// </summary>
    public long Fence { get; init; }
}
