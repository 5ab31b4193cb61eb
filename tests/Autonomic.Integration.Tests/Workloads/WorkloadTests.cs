using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Autonomic.Integration.Tests.Workloads;

/// <summary>The autonomic-workload executable, started as a real process and driven over HTTP.</summary>
public sealed class WorkloadTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);
    private const int SigTerm = 15;

    [Fact]
    public async Task Serves_health_readiness_info_and_metrics()
    {
        await using var w = await WorkloadProcess.StartAsync(env: new Dictionary<string, string> { ["AUTONOMIC_INSTANCE"] = "web-7" });
        using HttpClient http = w.Client();

        Assert.Equal("ok", (await http.GetStringAsync("/healthz")).Trim());
        Assert.Equal("ready", (await http.GetStringAsync("/readyz")).Trim());
        string info = await http.GetStringAsync("/");
        Assert.Contains("web-7", info, StringComparison.Ordinal);
        Assert.Contains($"pid={w.Process.Id}", info, StringComparison.Ordinal);

        HttpResponseMessage metrics = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        string text = await metrics.Content.ReadAsStringAsync();
        Assert.Equal(4, MetricValue(text, "workload_requests_total"));
        Assert.Equal(0, MetricValue(text, "workload_errors_total"));
        Assert.Equal(0, MetricValue(text, "workload_leaked_bytes"));
        Assert.InRange(MetricValue(text, "workload_resident_memory_bytes"), 1_000_000, 2_000_000_000);
        double started = MetricValue(text, "process_start_time_seconds");
        Assert.InRange(DateTimeOffset.UtcNow.ToUnixTimeSeconds() - started, -5, 120);
        Assert.Contains("# TYPE workload_requests_total counter", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keeps_the_connection_alive_and_drains_request_bodies()
    {
        await using var w = await WorkloadProcess.StartAsync();
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, w.Port);
        string requests =
            "POST /fault/reset HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world" +
            "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n" +
            "GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(requests));

        var received = new StringBuilder();
        byte[] buffer = new byte[4096];
        using var cts = new CancellationTokenSource(Deadline);
        int n;
        while ((n = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
        {
            received.Append(Encoding.ASCII.GetString(buffer, 0, n));
        }

        string all = received.ToString();
        Assert.Equal(3, Regex.Count(all, @"HTTP/1\.1 200 OK"));
        Assert.Contains("Content-Length: 3\r\n\r\nok\n", all, StringComparison.Ordinal);
        Assert.EndsWith("ready\n", all, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Crash_exits_with_code_1()
    {
        await using var w = await WorkloadProcess.StartAsync();
        using HttpClient http = w.Client();
        try
        {
            await http.PostAsync(new Uri("/fault/crash", UriKind.Relative), null);
        }
        catch (HttpRequestException)
        {
            // The process may be gone before the answer arrives.
        }

        Assert.Equal(1, await w.WaitForExitAsync(Deadline));
        Assert.Contains(w.Lines, l => l.StartsWith("fault crash", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Hang_stops_answering_while_the_process_stays_alive()
    {
        await using var w = await WorkloadProcess.StartAsync();
        using HttpClient http = w.Client(TimeSpan.FromMilliseconds(700));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/fault/hang", UriKind.Relative))).StatusCode);

        await Assert.ThrowsAsync<TaskCanceledException>(() => http.GetAsync(new Uri("/healthz", UriKind.Relative)));
        using HttpClient fresh = w.Client(TimeSpan.FromMilliseconds(700));
        await Assert.ThrowsAsync<TaskCanceledException>(() => fresh.GetAsync(new Uri("/healthz", UriKind.Relative)));
        Assert.False(w.Process.HasExited);
        Assert.NotEqual('T', w.State());

        // An in-process hang still honours SIGTERM, so a supervisor's graceful stop works.
        w.Signal(SigTerm);
        Assert.Equal(0, await w.WaitForExitAsync(Deadline));
    }

    [Fact]
    public async Task Hang_with_mode_stop_freezes_the_process()
    {
        await using var w = await WorkloadProcess.StartAsync();
        using HttpClient http = w.Client(TimeSpan.FromMilliseconds(700));
        await http.GetAsync(new Uri("/fault/hang?mode=stop", UriKind.Relative));

        await Eventually.WaitAsync(() => w.State() == 'T', Deadline, "process state T (stopped)");
        await Assert.ThrowsAsync<TaskCanceledException>(() => http.GetAsync(new Uri("/healthz", UriKind.Relative)));
        Assert.False(w.Process.HasExited);
    }

    [Fact]
    public async Task Leak_grows_resident_memory_until_reset()
    {
        await using var w = await WorkloadProcess.StartAsync();
        using HttpClient http = w.Client();
        long before = w.ResidentBytes();
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync(new Uri("/fault/leak?mb_per_s=60", UriKind.Relative), null)).StatusCode);

        await Eventually.WaitAsync(() => w.ResidentBytes() - before > 30L * 1024 * 1024, TimeSpan.FromSeconds(5), "RSS grows by 30 MB");
        Assert.True(MetricValue(await http.GetStringAsync("/metrics"), "workload_leaked_bytes") > 0);

        await http.GetAsync(new Uri("/fault/reset", UriKind.Relative));
        Assert.Equal(0, MetricValue(await http.GetStringAsync("/metrics"), "workload_leaked_bytes"));
        Assert.Contains(w.Lines, l => l.StartsWith("fault leak: 60 MB/s", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Slow_adds_latency_to_later_requests_until_reset()
    {
        await using var w = await WorkloadProcess.StartAsync();
        using HttpClient http = w.Client();
        await http.GetAsync(new Uri("/fault/slow?ms=400", UriKind.Relative));

        var watch = Stopwatch.StartNew();
        Assert.Equal("ok", (await http.GetStringAsync("/healthz")).Trim());
        Assert.True(watch.ElapsedMilliseconds >= 390, $"healthz took {watch.ElapsedMilliseconds} ms");

        await http.GetAsync(new Uri("/fault/reset", UriKind.Relative));
        watch.Restart();
        await http.GetStringAsync("/healthz");
        Assert.True(watch.ElapsedMilliseconds < 390, $"healthz took {watch.ElapsedMilliseconds} ms after reset");
    }

    [Fact]
    public async Task Errors_at_rate_1_answer_500_and_are_counted()
    {
        await using var w = await WorkloadProcess.StartAsync();
        using HttpClient http = w.Client();
        await http.PostAsync(new Uri("/fault/errors?rate=1.0", UriKind.Relative), null);

        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.InternalServerError, (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        }

        await http.GetAsync(new Uri("/fault/reset", UriKind.Relative));
        HttpResponseMessage metrics = await http.GetAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Equal(5, MetricValue(await metrics.Content.ReadAsStringAsync(), "workload_errors_total"));
    }

    [Fact]
    public async Task Unready_fails_readiness_but_not_liveness_until_reset()
    {
        await using var w = await WorkloadProcess.StartAsync();
        using HttpClient http = w.Client();
        await http.GetAsync(new Uri("/fault/unready", UriKind.Relative));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);

        await http.GetAsync(new Uri("/fault/reset", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Cpu_burns_processor_time()
    {
        await using var w = await WorkloadProcess.StartAsync();
        using HttpClient http = w.Client();
        long before = w.CpuTicks();
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/fault/cpu?seconds=5", UriKind.Relative))).StatusCode);

        // Clock ticks are 1/100 s on Linux; the bound is low because the test machine is shared.
        await Eventually.WaitAsync(() => w.CpuTicks() - before >= 30, Deadline, "0.3 s of CPU used");
    }

    [Theory]
    [InlineData("/nope", HttpStatusCode.NotFound, "no such path")]
    [InlineData("/fault/nope", HttpStatusCode.NotFound, "no such fault")]
    [InlineData("/fault/slow?ms=abc", HttpStatusCode.BadRequest, "ms must be an integer")]
    [InlineData("/fault/errors?rate=2", HttpStatusCode.BadRequest, "rate must be a number between 0 and 1")]
    [InlineData("/fault/leak?mb_per_s=-5", HttpStatusCode.BadRequest, "mb_per_s must be a number")]
    [InlineData("/fault/cpu?seconds=0", HttpStatusCode.BadRequest, "seconds must be a number")]
    [InlineData("/fault/hang?mode=maybe", HttpStatusCode.BadRequest, "mode must be block or stop")]
    public async Task Rejects_unknown_paths_and_bad_values(string path, HttpStatusCode status, string reason)
    {
        await using var w = await WorkloadProcess.StartAsync();
        using HttpClient http = w.Client();
        HttpResponseMessage response = await http.GetAsync(new Uri(path, UriKind.Relative));
        Assert.Equal(status, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // A rejected fault changes nothing.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Sigterm_exits_with_code_0()
    {
        await using var w = await WorkloadProcess.StartAsync();
        w.Signal(SigTerm);
        Assert.Equal(0, await w.WaitForExitAsync(Deadline));
    }

    [Fact]
    public async Task Worker_without_a_port_works_and_stops_on_sigterm()
    {
        await using var w = await WorkloadProcess.StartAsync(["--mode", "worker", "--work-interval", "10"], waitListening: false);
        await w.WaitForLineAsync(new Regex("^worker batch 26 done"), Deadline);
        Assert.DoesNotContain(w.Lines, l => l.StartsWith("listening", StringComparison.Ordinal));
        w.Signal(SigTerm);
        Assert.Equal(0, await w.WaitForExitAsync(Deadline));
    }

    [Fact]
    public async Task Worker_with_a_port_from_env_serves_health_and_faults()
    {
        int port = TestPorts.Free();
        await using var w = await WorkloadProcess.StartAsync(["--mode", "worker"], new Dictionary<string, string> { ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        Assert.Equal(port, w.Port);
        using HttpClient http = w.Client();
        Assert.Equal("ok", (await http.GetStringAsync("/healthz")).Trim());
        Assert.Contains("mode=worker", await http.GetStringAsync("/"), StringComparison.Ordinal);
        await w.WaitForLineAsync(new Regex("^worker batch 1 done"), Deadline);
    }

    [Fact]
    public async Task Help_prints_usage_and_bad_arguments_exit_2()
    {
        await using var help = await WorkloadProcess.StartAsync(["--help"], waitListening: false);
        Assert.Equal(0, await help.WaitForExitAsync(Deadline));
        await help.WaitForLineAsync(new Regex("^usage: autonomic-workload"), Deadline);

        await using var bad = await WorkloadProcess.StartAsync(["--port", "nope"], waitListening: false);
        Assert.Equal(2, await bad.WaitForExitAsync(Deadline));
        await bad.WaitForLineAsync(new Regex("port must be an integer"), Deadline);
    }

    [Fact]
    public async Task Cold_start_to_first_healthz_is_short()
    {
        int port = TestPorts.Free();
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(WorkloadProcess.StartInfo(["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)]))!;
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
            await Eventually.WaitAsync(
                async () =>
                {
                    try
                    {
                        return (await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"))).IsSuccessStatusCode;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                },
                Deadline,
                "first healthz");
            output.WriteLine($"start to first healthz: {watch.ElapsedMilliseconds} ms");

            // Generous bound for a shared, busy test machine; the benchmark measures the real number.
            Assert.True(watch.ElapsedMilliseconds < 3000, $"took {watch.ElapsedMilliseconds} ms");
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    private static double MetricValue(string text, string name)
    {
        Match m = Regex.Match(text, $@"^{Regex.Escape(name)} (\S+)$", RegexOptions.Multiline);
        Assert.True(m.Success, $"metric {name} missing from: {text}");
        return double.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }
}
