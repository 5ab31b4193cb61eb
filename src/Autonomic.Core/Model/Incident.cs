namespace Autonomic.Core.Model;

/// <summary>Where an incident is in its life.</summary>
public enum IncidentStatus
{
    /// <summary>Detected, not mitigated yet.</summary>
    Open,
    /// <summary>The service is healthy again; waiting for it to stay stable.</summary>
    Mitigated,
    /// <summary>Stable again after mitigation.</summary>
    Resolved,
    /// <summary>Automation gave up: a human must act.</summary>
    Escalated,
}

/// <summary>
/// A failure and its handling. Time to detect is <see cref="DetectedAt"/> minus <see cref="FailedAt"/>;
/// time to mitigate is <see cref="MitigatedAt"/> minus <see cref="DetectedAt"/>.
/// </summary>
public sealed record Incident
{
    public required string Id { get; init; }
    public required string Service { get; init; }
    public string? InstanceId { get; init; }
    /// <summary>Short cause: <c>crash</c>, <c>hang</c>, <c>leak</c>, <c>latency</c>, <c>oom</c>, <c>launch_failed</c>, <c>crash_loop</c>.</summary>
    public required string Cause { get; init; }
    public IncidentStatus Status { get; init; }
    public string? Summary { get; init; }
    /// <summary>When the failure began, as best known (the exit, or the first failed probe).</summary>
    public DateTimeOffset FailedAt { get; init; }
    public DateTimeOffset DetectedAt { get; init; }
    public DateTimeOffset? MitigatedAt { get; init; }
    public DateTimeOffset? ResolvedAt { get; init; }
    public bool NeedsHuman { get; init; }
    public IReadOnlyDictionary<string, string> Evidence { get; init; } = new Dictionary<string, string>();
    public IReadOnlyList<string> ActionIds { get; init; } = [];

    public TimeSpan TimeToDetect => DetectedAt - FailedAt;
    public TimeSpan? TimeToMitigate => MitigatedAt - DetectedAt;
}

/// <summary>Where an action is in its life: written as intent before it runs, completed after.</summary>
public enum ActionStatus
{
    Intent,
    Succeeded,
    Failed,
    /// <summary>Decided in dry-run mode; not carried out.</summary>
    Skipped,
}

/// <summary>The audit record of one thing an agent did: who, what, why, on which evidence, and the outcome.</summary>
public sealed record AgentAction
{
    public required string Id { get; init; }
    /// <summary>The agent that acted, e.g. <c>healer</c>.</summary>
    public required string Agent { get; init; }
    /// <summary>What it did: <c>start</c>, <c>restart</c>, <c>kill</c>, <c>replace</c>, <c>escalate</c>, <c>stop</c>.</summary>
    public required string Kind { get; init; }
    /// <summary>What it acted on (an instance id or a service name).</summary>
    public required string Subject { get; init; }
    /// <summary>Why, for people.</summary>
    public required string Reason { get; init; }
    /// <summary>The policy rule that decided it, e.g. <c>lifecycle.exited.restart</c>.</summary>
    public required string Rule { get; init; }
    public IReadOnlyDictionary<string, string> Evidence { get; init; } = new Dictionary<string, string>();
    public ActionStatus Status { get; init; }
    public string? Outcome { get; init; }
    public string? IncidentId { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? CompletedAt { get; init; }
}
