using System.Globalization;
using System.Text.RegularExpressions;

namespace Autonomic.Cli.Load;

/// <summary>
/// Turns a web server's request history into a trace of requests per interval. Three inputs are understood
/// (plain or .gz): a Common Log Format access log (the NASA-HTTP 1995 logs'
/// <c>host - - [01/Jul/1995:00:00:01 -0400] "GET / HTTP/1.0" 200 6245</c>); a file of whitespace-separated
/// per-second counts (the NASA per-second extraction, <c>workload.txt</c>); or a CSV with a <c>requests</c> column
/// and optionally a <c>seconds</c> column giving each row's length (the NASA per-minute CSV).
/// </summary>
public static partial class TraceFromLog
{
    [GeneratedRegex(@"\[(\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\]")]
    private static partial Regex ClfTimestamp();

    /// <summary>Converts <paramref name="path"/>; throws <see cref="FormatException"/> with the line of the first bad record.</summary>
    public static RequestTrace Convert(string path, double intervalSeconds)
    {
        if (intervalSeconds <= 0)
        {
            throw new FormatException("the interval must be greater than 0 seconds");
        }

        string? first;
        using (var peek = RequestTrace.OpenText(path))
        {
            first = peek.ReadLine();
            while (first is { Length: 0 })
            {
                first = peek.ReadLine();
            }
        }

        if (first is null)
        {
            throw new FormatException($"{path}: empty file");
        }

        if (ClfTimestamp().IsMatch(first))
        {
            return FromClf(path, intervalSeconds);
        }

        if (first.Contains(',', StringComparison.Ordinal))
        {
            return FromCsv(path, intervalSeconds);
        }

        return FromPerSecondCounts(path, intervalSeconds);
    }

    private static RequestTrace FromClf(string path, double intervalSeconds)
    {
        var buckets = new SortedDictionary<long, double>();
        DateTimeOffset? origin = null;
        long ticksPerInterval = (long)(intervalSeconds * TimeSpan.TicksPerSecond);
        int lineNumber = 0;
        int skipped = 0;
        using var reader = RequestTrace.OpenText(path);
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            Match m = ClfTimestamp().Match(line);
            if (!m.Success || !DateTimeOffset.TryParseExact(m.Groups[1].Value, "dd/MMM/yyyy:HH:mm:ss zzz", CultureInfo.InvariantCulture, DateTimeStyles.None, out DateTimeOffset at))
            {
                // The NASA logs have a few truncated lines; more than a handful means this is not a log.
                if (++skipped > 100 && skipped * 10 > lineNumber)
                {
                    throw new FormatException($"{path}:{lineNumber}: not a Common Log Format line: '{Truncate(line)}'");
                }

                continue;
            }

            origin ??= Floor(at, ticksPerInterval);
            long index = (long)Math.Floor((double)(at - origin.Value).Ticks / ticksPerInterval);
            buckets[index] = buckets.GetValueOrDefault(index) + 1;
        }

        if (origin is null)
        {
            throw new FormatException($"{path}: no Common Log Format lines");
        }

        long firstIndex = buckets.Keys.First();
        long last = buckets.Keys.Last();
        var labels = new List<string>();
        var requests = new List<double>();
        for (long i = firstIndex; i <= last; i++)
        {
            labels.Add(origin.Value.AddTicks(i * ticksPerInterval).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture));
            requests.Add(buckets.GetValueOrDefault(i));
        }

        return new RequestTrace(labels, requests, intervalSeconds);
    }

    private static RequestTrace FromPerSecondCounts(string path, double intervalSeconds)
    {
        var labels = new List<string>();
        var requests = new List<double>();
        double bucket = 0;
        double filled = 0;
        long second = 0;
        int lineNumber = 0;
        using var reader = RequestTrace.OpenText(path);
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            foreach (string token in line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
            {
                if (!double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out double count) || count < 0)
                {
                    throw new FormatException($"{path}:{lineNumber}: expected per-second request counts, got '{Truncate(token)}'");
                }

                bucket += count;
                filled++;
                second++;
                if (filled >= intervalSeconds)
                {
                    labels.Add(((second - (long)filled)).ToString(CultureInfo.InvariantCulture));
                    requests.Add(bucket);
                    bucket = 0;
                    filled = 0;
                }
            }
        }

        if (filled > 0)
        {
            labels.Add((second - (long)filled).ToString(CultureInfo.InvariantCulture));
            requests.Add(bucket);
        }

        return new RequestTrace(labels, requests, intervalSeconds);
    }

    private static RequestTrace FromCsv(string path, double intervalSeconds)
    {
        // Rows carry their own length in a 'seconds' column when there is one (60 otherwise) and are summed
        // into intervals of the asked length, which must be a whole number of rows.
        var labels = new List<string>();
        var requests = new List<double>();
        int requestsColumn = -1;
        int secondsColumn = -1;
        int labelColumn = -1;
        double bucket = 0;
        double filled = 0;
        string? bucketLabel = null;
        int lineNumber = 0;
        using var reader = RequestTrace.OpenText(path);
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            string[] cells = line.Split(',');
            if (requestsColumn < 0)
            {
                string[] names = cells.Select(c => c.Trim().ToLowerInvariant()).ToArray();
                requestsColumn = Array.IndexOf(names, "requests");
                if (requestsColumn < 0)
                {
                    throw new FormatException($"{path}:{lineNumber}: a CSV needs a header with a 'requests' column");
                }

                secondsColumn = Array.IndexOf(names, "seconds");
                labelColumn = Array.FindIndex(names, n => n is "timestamp" or "time" or "approx_start_local_0400");
                continue;
            }

            if (requestsColumn >= cells.Length || !double.TryParse(cells[requestsColumn], NumberStyles.Float, CultureInfo.InvariantCulture, out double count) || count < 0)
            {
                throw new FormatException($"{path}:{lineNumber}: expected a request count in column {requestsColumn + 1}");
            }

            double seconds = 60;
            if (secondsColumn >= 0 && (secondsColumn >= cells.Length || !double.TryParse(cells[secondsColumn], NumberStyles.Float, CultureInfo.InvariantCulture, out seconds) || seconds <= 0))
            {
                throw new FormatException($"{path}:{lineNumber}: expected a row length in seconds in column {secondsColumn + 1}");
            }

            bucketLabel ??= labelColumn >= 0 && labelColumn < cells.Length ? cells[labelColumn] : (lineNumber - 2).ToString(CultureInfo.InvariantCulture);
            bucket += count;
            filled += seconds;
            if (filled >= intervalSeconds - 1e-9)
            {
                labels.Add(bucketLabel);
                requests.Add(bucket);
                bucket = 0;
                filled = 0;
                bucketLabel = null;
            }
        }

        if (filled > 0)
        {
            labels.Add(bucketLabel!);
            requests.Add(bucket);
        }

        if (requests.Count == 0)
        {
            throw new FormatException($"{path}: no rows");
        }

        return new RequestTrace(labels, requests, intervalSeconds);
    }

    private static DateTimeOffset Floor(DateTimeOffset at, long ticks) => new(at.Ticks - (at.Ticks % ticks), at.Offset);

    private static string Truncate(string text) => text.Length > 80 ? text[..80] + "…" : text;
}
