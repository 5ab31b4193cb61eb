using System.Globalization;
using System.IO.Compression;
using Autonomic.Cli;
using Autonomic.Cli.Commands;
using Autonomic.Cli.Load;

namespace Autonomic.Integration.Tests.Traffic;

public sealed class TraceTests
{
    private static readonly string PerMinute = Repo.Data("nasa-http-1995", "requests_per_minute_excerpt.csv");
    private static readonly string PerSecond = Repo.Data("nasa-http-1995", "per_second_excerpt.txt");

    /// <summary>The per-minute column read independently of the code under test.</summary>
    private static long[] MinuteCounts() =>
        File.ReadLines(PerMinute).Skip(1).Select(l => long.Parse(l.Split(',')[4], CultureInfo.InvariantCulture)).ToArray();

    [Fact]
    public void Per_second_counts_summed_per_minute_equal_the_per_minute_file()
    {
        RequestTrace trace = TraceFromLog.Convert(PerSecond, 60);

        Assert.Equal(60, trace.Requests.Count);
        Assert.Equal(MinuteCounts().Take(60).Select(c => (double)c), trace.Requests);
        Assert.Equal(42, trace.Requests[0]);
    }

    [Fact]
    public void The_per_minute_csv_is_summed_into_five_minute_rows_with_their_start_labels()
    {
        RequestTrace trace = TraceFromLog.Convert(PerMinute, 300);
        long[] minutes = MinuteCounts();

        Assert.Equal(60, trace.Requests.Count);
        for (int i = 0; i < 60; i++)
        {
            Assert.Equal(minutes.Skip(i * 5).Take(5).Sum(), trace.Requests[i]);
        }

        Assert.Equal("1995-07-01T00:00:01-04:00", trace.Labels[0]);
        Assert.Equal("1995-07-01T00:05:01-04:00", trace.Labels[1]);
    }

    [Fact]
    public async Task Common_log_format_lines_are_counted_per_interval_with_gaps_as_zero()
    {
        // Lines built here in the NASA-HTTP log format (the raw logs are not in the shared data), gzip-compressed
        // like the published files; one malformed line as the real logs have.
        var dir = Directory.CreateTempSubdirectory("clf-");
        try
        {
            string log = Path.Combine(dir.FullName, "access_log.gz");
            string[] lines =
            [
                "199.72.81.55 - - [01/Jul/1995:00:00:01 -0400] \"GET /history/apollo/ HTTP/1.0\" 200 6245",
                "unicomp6.unicomp.net - - [01/Jul/1995:00:00:06 -0400] \"GET /shuttle/countdown/ HTTP/1.0\" 200 3985",
                "199.120.110.21 - - [01/Jul/1995:00:00:59 -0400] \"GET /shuttle/missions/sts-73/mission-sts-73.html HTTP/1.0\" 200 4085",
                "burger.letters.com - - [01/Jul/1995:00:01:00 -0400] \"GET /images/NASA-logosmall.gif HTTP/1.0\" 304 0",
                "garbled line without a timestamp",
                "d104.aa.net - - [01/Jul/1995:00:03:30 -0400] \"GET /shuttle/countdown/ HTTP/1.0\" 200 3985",
            ];
            await using (var file = File.Create(log))
            await using (var gzip = new GZipStream(file, CompressionLevel.Fastest))
            await using (var writer = new StreamWriter(gzip))
            {
                await writer.WriteAsync(string.Join('\n', lines) + "\n");
            }

            var output = new StringWriter();
            int exit = await CliApp.RunAsync(["load", "trace-from-log", log, "--interval-seconds", "60"], CliContext.ForWriters(output, new StringWriter()));

            Assert.Equal(0, exit);
            Assert.Equal(
                "timestamp,requests\n1995-07-01T00:00:00-04:00,3\n1995-07-01T00:01:00-04:00,1\n1995-07-01T00:02:00-04:00,0\n1995-07-01T00:03:00-04:00,1\n",
                output.ToString());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void The_busy_stretch_is_the_window_with_the_highest_total()
    {
        double[] counts = [1, 9, 1, 1, 5, 5, 5, 0, 8];
        Assert.Equal(4, RequestTrace.BusiestStart(counts, 3));
        Assert.Equal(1, RequestTrace.BusiestStart(counts, 1));
        Assert.Equal(0, RequestTrace.BusiestStart(counts, 9));

        var minutes = MinuteCounts();
        RequestTrace busiest = RequestTrace.ReadCsv(PerMinute, 60).Busiest(30);
        long best = Enumerable.Range(0, minutes.Length - 29).Max(i => minutes.Skip(i).Take(30).Sum());
        Assert.Equal(best, busiest.Requests.Sum());
        Assert.Equal(30, busiest.Requests.Count);
    }

    [Fact]
    public async Task Trace_from_log_with_busiest_writes_a_replayable_csv()
    {
        var output = new StringWriter();
        int exit = await CliApp.RunAsync(["load", "trace-from-log", PerMinute, "--interval-seconds", "60", "--busiest", "10"], CliContext.ForWriters(output, new StringWriter()));
        Assert.Equal(0, exit);

        var dir = Directory.CreateTempSubdirectory("busiest-");
        try
        {
            string csv = Path.Combine(dir.FullName, "busy.csv");
            await File.WriteAllTextAsync(csv, output.ToString());
            RequestTrace replayable = RequestTrace.ReadCsv(csv, 60);
            Assert.Equal(10, replayable.Requests.Count);
            Assert.Equal(RequestTrace.ReadCsv(PerMinute, 60).Busiest(10).Requests, replayable.Requests);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public void A_bad_count_names_its_line()
    {
        var dir = Directory.CreateTempSubdirectory("badtrace-");
        try
        {
            string csv = Path.Combine(dir.FullName, "t.csv");
            File.WriteAllText(csv, "timestamp,requests\n0,5\n1,lots\n");
            var ex = Assert.Throws<FormatException>(() => RequestTrace.ReadCsv(csv, 60));
            Assert.Contains("t.csv:3:", ex.Message, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
