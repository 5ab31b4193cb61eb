namespace Autonomic.Agents.Monitoring;

/// <summary>The data of <c>probe.failed</c> / <c>probe.succeeded</c>: a probe's verdict changed.</summary>
public sealed record ProbeVerdictData
{
    public required string InstanceId { get; init; }
    /// <summary>The process the verdict is about; a verdict about an earlier process is stale and ignored.</summary>
    public required int Pid { get; init; }
    /// <summary><c>liveness</c>, <c>readiness</c> or <c>startup</c>.</summary>
    public required string Probe { get; init; }
    public required bool Passing { get; init; }
    /// <summary>When the run of failures began.</summary>
    public DateTimeOffset? FirstFailureAt { get; init; }
    public int ConsecutiveFailures { get; init; }
    public double LatencyMs { get; init; }
    public string? Detail { get; init; }
}

/// <summary>The data of <c>metric.sample</c>.</summary>
public sealed record MetricSampleData
{
    public required string InstanceId { get; init; }
    public required int Pid { get; init; }
    public long RssBytes { get; init; }
    public double CpuSeconds { get; init; }
    /// <summary>CPU used since the previous sample, in cores.</summary>
    public double CpuCores { get; init; }
    public int OpenFiles { get; init; }
    public int Threads { get; init; }
}

/// <summary>The data of <c>anomaly.detected</c>: a trend or limit breach found by the monitor.</summary>
public sealed record AnomalyData
{
    public required string InstanceId { get; init; }
    public required int Pid { get; init; }
    /// <summary><c>leak</c>, <c>latency</c> (degraded: replace gracefully) or <c>oom</c> (over the limit: kill).</summary>
    public required string Cause { get; init; }
    public required string Detail { get; init; }
    public IReadOnlyDictionary<string, string> Evidence { get; init; } = new Dictionary<string, string>();
}
