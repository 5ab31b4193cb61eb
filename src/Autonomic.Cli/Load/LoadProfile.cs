using System.Globalization;

namespace Autonomic.Cli.Load;

/// <summary>
/// A request schedule: piecewise-constant rates. <see cref="DueBy"/> is the number of requests that should
/// have started by a given time, which is all an open-loop generator needs.
/// </summary>
public sealed class LoadProfile
{
    private readonly Segment[] _segments;

    private LoadProfile(string description, IEnumerable<(TimeSpan Length, double Rps)> segments)
    {
        Description = description;
        var list = new List<Segment>();
        TimeSpan start = TimeSpan.Zero;
        double before = 0;
        foreach ((TimeSpan length, double rps) in segments)
        {
            if (length <= TimeSpan.Zero)
            {
                continue;
            }

            list.Add(new Segment(start, length, Math.Max(0, rps), before));
            before += Math.Max(0, rps) * length.TotalSeconds;
            start += length;
        }

        _segments = [.. list];
        Duration = start;
        TotalRequests = before;
    }

    private sealed record Segment(TimeSpan Start, TimeSpan Length, double Rps, double Before);

    public string Description { get; }

    public TimeSpan Duration { get; }

    /// <summary>Requests the whole schedule sends.</summary>
    public double TotalRequests { get; }

    /// <summary>The rate at <paramref name="t"/> (0 after the end).</summary>
    public double RateAt(TimeSpan t) => Find(t) is { } s ? s.Rps : 0;

    /// <summary>Requests due by <paramref name="t"/> since the start.</summary>
    public double DueBy(TimeSpan t)
    {
        if (t >= Duration)
        {
            return TotalRequests;
        }

        return Find(t) is { } s ? s.Before + (s.Rps * (t - s.Start).TotalSeconds) : 0;
    }

    /// <summary>
    /// When the <paramref name="n"/>-th request (1-based) falls due: the first time <see cref="DueBy"/> reaches it.
    /// Requests are counted in the window of this time, so a generator that falls behind reports the schedule, not
    /// its own stalls.
    /// </summary>
    public TimeSpan DueAt(long n)
    {
        foreach (Segment s in _segments)
        {
            double after = s.Before + (s.Rps * s.Length.TotalSeconds);
            if (s.Rps > 0 && n <= after + 1e-9)
            {
                // Rounded up to the next tick, so DueBy at that time has reached n.
                var at = s.Start + TimeSpan.FromTicks((long)Math.Ceiling(Math.Max(0, n - s.Before) / s.Rps * TimeSpan.TicksPerSecond));
                // The last request of the schedule falls due at its end: it belongs to its last window.
                return at < Duration ? at : Duration - TimeSpan.FromTicks(1);
            }
        }

        return Duration - TimeSpan.FromTicks(1);
    }

    private Segment? Find(TimeSpan t)
    {
        foreach (Segment s in _segments)
        {
            if (t >= s.Start && t < s.Start + s.Length)
            {
                return s;
            }
        }

        return null;
    }

    public static LoadProfile Constant(double rps, TimeSpan duration) =>
        new($"constant {Show(rps)} rps for {Show(duration.TotalSeconds)} s", [(duration, rps)]);

    /// <summary><paramref name="steps"/> equal steps whose rates go evenly from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public static LoadProfile Step(double from, double to, int steps, TimeSpan duration)
    {
        var each = duration / steps;
        var segments = Enumerable.Range(0, steps)
            .Select(i => (each, steps == 1 ? from : from + ((to - from) * i / (steps - 1))));
        return new($"step {Show(from)} -> {Show(to)} rps in {steps} steps over {Show(duration.TotalSeconds)} s", segments);
    }

    /// <summary>
    /// Replays a trace of requests per interval: each row lasts <paramref name="intervalSeconds"/> divided by
    /// <paramref name="compress"/> and sends its count times <paramref name="scale"/> requests.
    /// </summary>
    public static LoadProfile Replay(IReadOnlyList<double> requestsPerInterval, double intervalSeconds, double compress, double scale)
    {
        var length = TimeSpan.FromSeconds(intervalSeconds / compress);
        var segments = requestsPerInterval.Select(count => (length, count * scale / length.TotalSeconds));
        return new($"replay of {requestsPerInterval.Count} rows of {Show(intervalSeconds)} s, compressed {Show(compress)}x, scaled {Show(scale)}x", segments);
    }

    private static string Show(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
