namespace Autonomic.Cli.Load;

/// <summary>How one request ended.</summary>
public enum LoadOutcome
{
    /// <summary>A 2xx or 3xx answer.</summary>
    Ok,
    /// <summary>Any other answer, or a connection error.</summary>
    Error,
    /// <summary>No answer within the per-request timeout.</summary>
    Timeout,
    /// <summary>Not sent: the generator already had its maximum of requests in flight.</summary>
    Dropped,
}

/// <summary>
/// One request: when the schedule had it due (since the start of the run; it goes out then or, if the generator fell
/// behind, as soon as it catches up), how long it took, how it ended, and the instance
/// that answered (from the load balancer's X-Autonomic-Instance header, if any).
/// </summary>
public sealed record LoadResult(TimeSpan SentAt, TimeSpan Latency, LoadOutcome Outcome, int Status, string? Instance, string? Error);

/// <summary>Counts and latency percentiles of the requests sent in one window (or the whole run).</summary>
public sealed record LoadWindow(
    double StartSeconds,
    double Seconds,
    long Sent,
    long Ok,
    long Errors,
    long Timeouts,
    long Dropped,
    double LatencyMsP50,
    double LatencyMsP95,
    double LatencyMsP99)
{
    /// <summary>Requests sent per second in the window.</summary>
    public double SentPerSecond => Seconds > 0 ? Sent / Seconds : 0;
}

/// <summary>The windows of a run and its summary.</summary>
public sealed record LoadReport(string Target, string Profile, IReadOnlyList<LoadWindow> Windows, LoadWindow Summary);
