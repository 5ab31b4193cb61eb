using Autonomic.Core.Specs;

namespace Autonomic.Core.Policies;

/// <summary>One point of an instance's rolling window.</summary>
public sealed record TrendPoint(DateTimeOffset At, long RssBytes, double? ProbeLatencyMs);

/// <summary>A degradation found in a window, with the numbers behind it.</summary>
public sealed record Degradation(string Cause, string Detail, IReadOnlyDictionary<string, string> Evidence);

/// <summary>
/// Trend detection over a rolling window, before a trend becomes an outage: memory growing toward its limit
/// (time to limit from a least-squares slope) and probe latency degrading past a limit.
/// </summary>
public static class Trends
{
    /// <summary>Least-squares line through the points: slope per unit x, and R² (1 = a perfect line).</summary>
    public static (double Slope, double Intercept, double RSquared) Fit(IReadOnlyList<(double X, double Y)> points)
    {
        var n = points.Count;
        if (n < 2)
        {
            return (0, n == 1 ? points[0].Y : 0, 0);
        }

        double mx = 0, my = 0;
        foreach (var (x, y) in points)
        {
            mx += x;
            my += y;
        }

        mx /= n;
        my /= n;
        double sxx = 0, sxy = 0, syy = 0;
        foreach (var (x, y) in points)
        {
            sxx += (x - mx) * (x - mx);
            sxy += (x - mx) * (y - my);
            syy += (y - my) * (y - my);
        }

        if (sxx == 0)
        {
            return (0, my, 0);
        }

        var slope = sxy / sxx;
        var r2 = syy == 0 ? 0 : sxy * sxy / (sxx * syy);
        return (slope, my - (slope * mx), r2);
    }

    /// <summary>
    /// Predicted time until resident memory reaches <paramref name="limitBytes"/>, or null when memory is not
    /// growing steadily (too few points, slope not positive, or R² under 0.6).
    /// </summary>
    public static TimeSpan? TimeToMemoryLimit(IReadOnlyList<TrendPoint> window, long limitBytes, int minSamples)
    {
        if (window.Count < Math.Max(2, minSamples))
        {
            return null;
        }

        var t0 = window[0].At;
        var points = window.Select(p => ((p.At - t0).TotalSeconds, (double)p.RssBytes)).ToArray();
        var (slope, intercept, r2) = Fit(points);
        if (slope <= 0 || r2 < 0.6)
        {
            return null;
        }

        var nowX = points[^1].Item1;
        var fittedNow = intercept + (slope * nowX);
        var remaining = limitBytes - Math.Max(fittedNow, window[^1].RssBytes);
        return remaining <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(remaining / slope);
    }

    /// <summary>Median probe latency of the window in ms, or null when it has fewer than <paramref name="minSamples"/> latencies.</summary>
    public static double? MedianLatencyMs(IReadOnlyList<TrendPoint> window, int minSamples)
    {
        var latencies = window.Where(p => p.ProbeLatencyMs is not null).Select(p => p.ProbeLatencyMs!.Value).Order().ToArray();
        return latencies.Length < Math.Max(1, minSamples) ? null : latencies[(latencies.Length - 1) / 2];
    }

    /// <summary>The first degradation found in the window under the service's limits and trend policy, if any.</summary>
    public static Degradation? Assess(IReadOnlyList<TrendPoint> window, ServiceSpec spec)
    {
        var policy = spec.Trends;
        if (spec.Limits.MemoryBytes is { } limit && TimeToMemoryLimit(window, limit, policy.MinSamples) is { } ttl && ttl <= policy.LeakHorizon)
        {
            var rss = window[^1].RssBytes;
            return new Degradation("leak",
                $"memory {Mib(rss)} MiB growing toward its {Mib(limit)} MiB limit; limit reached in about {ttl.TotalSeconds:0} s",
                new Dictionary<string, string>
                {
                    ["rss_bytes"] = rss.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["limit_bytes"] = limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["seconds_to_limit"] = ttl.TotalSeconds.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture),
                    ["samples"] = window.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                });
        }

        if (policy.LatencyLimit is { } latencyLimit && MedianLatencyMs(window, policy.MinSamples) is { } p50 && p50 > latencyLimit.TotalMilliseconds)
        {
            return new Degradation("latency",
                $"probe latency p50 {p50:0} ms over its {latencyLimit.TotalMilliseconds:0} ms limit",
                new Dictionary<string, string>
                {
                    ["latency_ms_p50"] = p50.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture),
                    ["limit_ms"] = latencyLimit.TotalMilliseconds.ToString("0", System.Globalization.CultureInfo.InvariantCulture),
                    ["samples"] = window.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                });
        }

        return null;
    }

    private static string Mib(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("0", System.Globalization.CultureInfo.InvariantCulture);
}
