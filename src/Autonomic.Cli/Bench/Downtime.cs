namespace Autonomic.Cli.Bench;

/// <summary>One health request made by the external prober, with monotonic timestamps in milliseconds.</summary>
/// <param name="SentMs">When the request was started.</param>
/// <param name="CompletedMs">When it succeeded, failed or timed out.</param>
/// <param name="Ok">True only for an HTTP 200 answer.</param>
public readonly record struct ProbeSample(double SentMs, double CompletedMs, bool Ok);

/// <summary>The outcome of one fault: downtime in milliseconds, or not recovered.</summary>
/// <param name="Recovered">True when a successful request followed the outage.</param>
/// <param name="DowntimeMs">Outage length; null when not recovered.</param>
public readonly record struct DowntimeResult(bool Recovered, double? DowntimeMs);

/// <summary>
/// Turns probe samples around a fault into a downtime figure. Downtime runs from the send time of the first
/// failed request sent after the fault to the completion time of the first successful request sent after
/// that failure; requests in flight when the fault hit are ignored because they say nothing about it.
/// </summary>
public static class Downtime
{
    /// <summary>
    /// Computes the downtime for a fault injected at <paramref name="faultMs"/>.
    /// Returns <c>Recovered=false</c> when no success follows the first failure, and zero downtime when
    /// requests sent after the fault never failed (the outage was shorter than the probe interval).
    /// </summary>
    public static DowntimeResult Compute(IEnumerable<ProbeSample> samples, double faultMs)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var after = samples.Where(s => s.SentMs >= faultMs).OrderBy(s => s.SentMs).ToList();
        var firstFail = after.FindIndex(s => !s.Ok);
        if (firstFail < 0)
        {
            return after.Count > 0 ? new DowntimeResult(true, 0) : new DowntimeResult(false, null);
        }

        var start = after[firstFail].SentMs;
        var recovery = after.Skip(firstFail + 1)
            .Where(s => s.Ok)
            .Select(s => (double?)s.CompletedMs)
            .Min();
        return recovery is { } end
            ? new DowntimeResult(true, Math.Max(0, end - start))
            : new DowntimeResult(false, null);
    }

    /// <summary>
    /// True once the samples show the outage is over: a failure after the fault followed by a success,
    /// or enough quiet time with only successes that the fault evidently caused no outage.
    /// </summary>
    public static bool IsSettled(IEnumerable<ProbeSample> samples, double faultMs, double quietMs)
    {
        ArgumentNullException.ThrowIfNull(samples);
        var after = samples.Where(s => s.SentMs >= faultMs).OrderBy(s => s.SentMs).ToList();
        var firstFail = after.FindIndex(s => !s.Ok);
        if (firstFail < 0)
        {
            return after.Count > 0 && after[^1].SentMs - faultMs >= quietMs;
        }

        return after.Skip(firstFail + 1).Any(s => s.Ok);
    }
}
