using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace Autonomic.Cli.Load;

/// <summary>A request-rate trace: requests per interval, with an optional label per row.</summary>
public sealed record RequestTrace(IReadOnlyList<string> Labels, IReadOnlyList<double> Requests, double IntervalSeconds)
{
    /// <summary>
    /// Reads a trace CSV: one column of counts, or <c>timestamp,requests</c>, or any CSV with a header that has a
    /// <c>requests</c> column (the NASA per-minute file). Blank lines and lines starting with # are skipped.
    /// Throws <see cref="FormatException"/> naming the line of a bad value.
    /// </summary>
    public static RequestTrace ReadCsv(string path, double intervalSeconds)
    {
        var labels = new List<string>();
        var requests = new List<double>();
        int column = -1;
        int labelColumn = -1;
        int lineNumber = 0;
        using var reader = OpenText(path);
        while (reader.ReadLine() is { } line)
        {
            lineNumber++;
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            string[] cells = line.Split(',');
            if (column < 0)
            {
                int named = Array.FindIndex(cells, c => c.Trim().Equals("requests", StringComparison.OrdinalIgnoreCase));
                if (named >= 0)
                {
                    column = named;
                    labelColumn = Array.FindIndex(cells, c => c.Trim().ToLowerInvariant() is "timestamp" or "time" or "approx_start_local_0400");
                    continue;
                }

                column = cells.Length - 1;
                labelColumn = cells.Length > 1 ? 0 : -1;
                if (!double.TryParse(cells[column], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                {
                    // A header without a requests column: the last column holds the counts.
                    continue;
                }
            }

            if (column >= cells.Length
                || !double.TryParse(cells[column].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double count)
                || count < 0 || double.IsNaN(count) || double.IsInfinity(count))
            {
                throw new FormatException($"{path}:{lineNumber}: expected a request count >= 0 in column {column + 1}, got '{(column < cells.Length ? cells[column] : "")}'");
            }

            requests.Add(count);
            labels.Add(labelColumn >= 0 && labelColumn < cells.Length ? cells[labelColumn].Trim() : (requests.Count - 1).ToString(CultureInfo.InvariantCulture));
        }

        if (requests.Count == 0)
        {
            throw new FormatException($"{path}: no rows of request counts");
        }

        return new RequestTrace(labels, requests, intervalSeconds);
    }

    /// <summary>The rows from <paramref name="start"/> on, <paramref name="count"/> of them.</summary>
    public RequestTrace Slice(int start, int count) =>
        new(Labels.Skip(start).Take(count).ToArray(), Requests.Skip(start).Take(count).ToArray(), IntervalSeconds);

    /// <summary>
    /// The busy stretch: the <paramref name="rows"/> consecutive rows with the highest total (the first such
    /// stretch on ties). Its start index.
    /// </summary>
    public static int BusiestStart(IReadOnlyList<double> requests, int rows)
    {
        if (rows <= 0 || rows >= requests.Count)
        {
            return 0;
        }

        double sum = 0;
        for (int i = 0; i < rows; i++)
        {
            sum += requests[i];
        }

        double best = sum;
        int bestStart = 0;
        for (int i = rows; i < requests.Count; i++)
        {
            sum += requests[i] - requests[i - rows];
            if (sum > best + 1e-9)
            {
                best = sum;
                bestStart = i - rows + 1;
            }
        }

        return bestStart;
    }

    /// <summary>The busy stretch of <paramref name="rows"/> rows.</summary>
    public RequestTrace Busiest(int rows) => Slice(BusiestStart(Requests, rows), rows);

    /// <summary>Writes <c>timestamp,requests</c> lines with a header.</summary>
    public void WriteCsv(TextWriter writer)
    {
        writer.Write("timestamp,requests\n");
        for (int i = 0; i < Requests.Count; i++)
        {
            writer.Write(Labels[i]);
            writer.Write(',');
            writer.Write(Requests[i].ToString(CultureInfo.InvariantCulture));
            writer.Write('\n');
        }
    }

    /// <summary>Opens a text file, gunzipping it when it ends in .gz.</summary>
    public static StreamReader OpenText(string path)
    {
        Stream stream = File.OpenRead(path);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            stream = new GZipStream(stream, CompressionMode.Decompress);
        }

        return new StreamReader(stream, Encoding.Latin1);
    }
}
