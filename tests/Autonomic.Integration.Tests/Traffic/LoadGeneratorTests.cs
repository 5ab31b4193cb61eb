using System.Diagnostics;
using Autonomic.Cli;
using Autonomic.Cli.Commands;
using Autonomic.Cli.Load;
using Autonomic.Integration.Tests.Workloads;

namespace Autonomic.Integration.Tests.Traffic;

public sealed class LoadGeneratorTests
{
    [Fact]
    public async Task A_constant_profile_sends_rate_times_duration_on_schedule()
    {
        await using var workload = await WorkloadProcess.StartAsync();
        var generator = new LoadGenerator(new LoadOptions { Target = new Uri(workload.BaseAddress, "/"), Window = TimeSpan.FromSeconds(1) });
        var watch = Stopwatch.StartNew();
        LoadReport report = await generator.RunAsync(LoadProfile.Constant(200, TimeSpan.FromSeconds(4)));
        watch.Stop();

        Assert.InRange(report.Summary.Sent, 800 * 0.97, 800 * 1.03);
        Assert.Equal(report.Summary.Sent, report.Summary.Ok);
        Assert.InRange(watch.Elapsed.TotalSeconds, 3.9, 6);
        // Open loop: each one-second window carries its share, not a burst at the start.
        Assert.Equal(4, report.Windows.Count);
        Assert.All(report.Windows, w => Assert.InRange(w.Sent, 180, 220));
    }

    [Fact]
    public void DueAt_is_the_first_time_DueBy_reaches_each_request()
    {
        var profile = LoadProfile.Replay([20, 0, 60, 5], 10, compress: 10, scale: 1);
        for (long n = 1; n <= (long)profile.TotalRequests; n++)
        {
            TimeSpan at = profile.DueAt(n);
            Assert.True(profile.DueBy(at) >= n - 1e-6, $"request {n} not due at {at}");
            Assert.True(profile.DueBy(at - TimeSpan.FromMilliseconds(1)) < n, $"request {n} due before {at}");
        }

        // Nothing falls due in the silent second; the 21st request is the first of the third.
        Assert.InRange(profile.DueAt(21).TotalSeconds, 2 + (1.0 / 60), 2 + (1.0 / 60) + 1e-6);
    }

    [Fact]
    public async Task The_schedule_does_not_slow_down_with_a_slow_server()
    {
        await using var workload = await WorkloadProcess.StartAsync();
        using (var http = new HttpClient())
        {
            using var slow = await http.PostAsync(new Uri(workload.BaseAddress, "/fault/slow?ms=800"), null);
            Assert.Equal(200, (int)slow.StatusCode);
        }

        var generator = new LoadGenerator(new LoadOptions { Target = new Uri(workload.BaseAddress, "/"), Timeout = TimeSpan.FromSeconds(5) });
        LoadReport report = await generator.RunAsync(LoadProfile.Constant(50, TimeSpan.FromSeconds(2)));

        // A closed loop with one request at a time would have sent about 3; an open loop sends all 100 on time.
        Assert.Equal(100, report.Summary.Sent);
        Assert.Equal(100, report.Summary.Ok);
        Assert.True(report.Summary.LatencyMsP50 >= 750, $"p50 {report.Summary.LatencyMsP50} ms");
    }

    [Fact]
    public async Task A_timeout_is_counted_as_a_timeout()
    {
        await using var workload = await WorkloadProcess.StartAsync();
        using (var http = new HttpClient())
        {
            using var slow = await http.PostAsync(new Uri(workload.BaseAddress, "/fault/slow?ms=2000"), null);
        }

        var generator = new LoadGenerator(new LoadOptions { Target = new Uri(workload.BaseAddress, "/"), Timeout = TimeSpan.FromMilliseconds(300) });
        LoadReport report = await generator.RunAsync(LoadProfile.Constant(10, TimeSpan.FromSeconds(1)));

        Assert.Equal(10, report.Summary.Sent);
        Assert.Equal(10, report.Summary.Timeouts);
        Assert.Equal(0, report.Summary.Ok);
    }

    [Fact]
    public async Task Replay_sends_each_rows_count_in_its_own_time_slot()
    {
        await using var workload = await WorkloadProcess.StartAsync();
        var dir = Directory.CreateTempSubdirectory("trace-");
        try
        {
            string csv = Path.Combine(dir.FullName, "trace.csv");
            // Rows of 10 s compressed 10x: each row lasts one second.
            await File.WriteAllTextAsync(csv, "timestamp,requests\n0,20\n10,60\n20,0\n30,40\n");
            var trace = RequestTrace.ReadCsv(csv, 10);
            Assert.Equal([20.0, 60, 0, 40], trace.Requests);
            var profile = LoadProfile.Replay(trace.Requests, 10, compress: 10, scale: 1);
            Assert.Equal(TimeSpan.FromSeconds(4), profile.Duration);

            var report = await new LoadGenerator(new LoadOptions { Target = new Uri(workload.BaseAddress, "/"), Window = TimeSpan.FromSeconds(1) })
                .RunAsync(profile);

            Assert.Equal(120, report.Summary.Sent);
            Assert.Equal(120, report.Summary.Ok);
            long[] perSecond = new long[4];
            foreach (var w in report.Windows)
            {
                perSecond[(int)w.StartSeconds] = w.Sent;
            }

            Assert.InRange(perSecond[0], 18, 22);
            Assert.InRange(perSecond[1], 57, 63);
            Assert.InRange(perSecond[2], 0, 2);
            Assert.InRange(perSecond[3], 38, 42);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task The_load_command_reports_windows_and_writes_json()
    {
        await using var workload = await WorkloadProcess.StartAsync();
        var dir = Directory.CreateTempSubdirectory("load-");
        try
        {
            string json = Path.Combine(dir.FullName, "load.json");
            var output = new StringWriter();
            var error = new StringWriter();
            int exit = await CliApp.RunAsync(
                ["load", "step", "--url", new Uri(workload.BaseAddress, "/").ToString(), "--from", "20", "--to", "60", "--steps", "3", "--duration", "3s", "--window", "1s", "--json", json],
                CliContext.ForWriters(output, error));

            Assert.True(exit == 0, error.ToString());
            Assert.Contains("| total | 120 |", output.ToString(), StringComparison.Ordinal);
            using var doc = System.Text.Json.JsonDocument.Parse(await File.ReadAllTextAsync(json));
            Assert.Equal(120, doc.RootElement.GetProperty("summary").GetProperty("sent").GetInt64());
            Assert.Equal(120, doc.RootElement.GetProperty("summary").GetProperty("ok").GetInt64());
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    [Theory]
    [InlineData("constant", "--url", "http://127.0.0.1:1/", "--rps", "0", "--duration", "1s")]
    [InlineData("constant", "--url", "ftp://x/", "--rps", "5", "--duration", "1s")]
    [InlineData("constant", "--url", "http://127.0.0.1:1/", "--rps", "5", "--duration", "soon")]
    [InlineData("replay", "--url", "http://127.0.0.1:1/", "--trace", "/no/such/trace.csv")]
    [InlineData("trace-from-log", "/no/such/log")]
    public async Task Bad_input_is_a_usage_error(params string[] args)
    {
        var error = new StringWriter();
        int exit = await CliApp.RunAsync(["load", .. args], CliContext.ForWriters(new StringWriter(), error));
        Assert.Equal(2, exit);
        Assert.StartsWith("error: ", error.ToString(), StringComparison.Ordinal);
    }
}
