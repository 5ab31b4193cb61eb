using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Autonomic.Workloads;

/// <summary>Routes requests to the health, info, metrics and fault endpoints, applying the active faults.</summary>
internal sealed class Endpoints(WorkloadOptions options, FaultState faults, Action<string> log)
{
    private readonly SemaphoreSlim? _slots = options.WorkSlots > 0 ? new SemaphoreSlim(options.WorkSlots, options.WorkSlots) : null;
    private long _requests;
    private long _errors;
    private double? _startTimeSeconds;

    public async ValueTask<HttpResponse> HandleAsync(HttpRequest request)
    {
        Interlocked.Increment(ref _requests);
        HttpResponse response = await AnswerAsync(request);
        if (response.Status >= 500)
        {
            Interlocked.Increment(ref _errors);
        }

        return response;
    }

    private async ValueTask<HttpResponse> AnswerAsync(HttpRequest request)
    {
        bool isFault = request.Path.StartsWith("/fault/", StringComparison.Ordinal);
        bool allowed = request.Method is "GET" or "HEAD" || (isFault && request.Method == "POST");
        if (!allowed)
        {
            return new HttpResponse(405, $"method {request.Method} not allowed on {request.Path}\n");
        }

        if (isFault)
        {
            // Fault hooks ignore slow and errors so that /fault/reset always gets through.
            return Fault(request);
        }

        if (faults.SlowMs > 0)
        {
            await Task.Delay(faults.SlowMs);
        }

        double rate = faults.ErrorRate;
        if (rate > 0 && Random.Shared.NextDouble() < rate)
        {
            return new HttpResponse(500, "injected error\n");
        }

        return request.Path switch
        {
            "/healthz" => new HttpResponse(200, "ok\n"),
            "/readyz" => faults.Unready ? new HttpResponse(503, "unready\n") : new HttpResponse(200, "ready\n"),
            "/" => new HttpResponse(200, $"autonomic-workload instance={options.Instance} pid={Environment.ProcessId} mode={options.Mode.ToString().ToLowerInvariant()}\n"),
            "/metrics" => new HttpResponse(200, Metrics(), "text/plain; version=0.0.4; charset=utf-8"),
            "/work" => await WorkAsync(),
            _ => new HttpResponse(404, $"no such path: {request.Path}\n"),
        };
    }

    /// <summary>
    /// A request with a known cost: work-ms of CPU on this thread, then work-wait-ms without CPU; with work slots,
    /// requests beyond the slots queue (SemaphoreSlim is FIFO enough for this), so a replica saturates at a known rate.
    /// </summary>
    private async Task<HttpResponse> WorkAsync()
    {
        if (_slots is not null)
        {
            await _slots.WaitAsync();
        }

        try
        {
            ulong x = BurnCpu(options.WorkMs);
            if (options.WorkWaitMs > 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(options.WorkWaitMs));
            }

            return new HttpResponse(200, $"worked instance={options.Instance} checksum={x & 0xffff:x4}\n");
        }
        finally
        {
            _slots?.Release();
        }
    }

    /// <summary>Spins for <paramref name="ms"/> milliseconds of wall time on the calling thread.</summary>
    private static ulong BurnCpu(double ms)
    {
        long end = Stopwatch.GetTimestamp() + (long)(ms * Stopwatch.Frequency / 1000);
        ulong x = 1;
        while (Stopwatch.GetTimestamp() < end)
        {
            for (int i = 0; i < 1000; i++)
            {
                x = (x * 6364136223846793005UL) + 1442695040888963407UL;
            }
        }

        return x;
    }

    private HttpResponse Fault(HttpRequest request)
    {
        try
        {
            switch (request.Path)
            {
                case "/fault/crash":
                    log("fault crash: exiting with code 1");
                    return new HttpResponse(200, "crashing\n") { AfterSend = () => Environment.Exit(1) };
                case "/fault/hang":
                    string mode = request.Query.GetValueOrDefault("mode", "block");
                    if (mode is not ("block" or "stop"))
                    {
                        return new HttpResponse(400, $"mode must be block or stop, got '{mode}'\n");
                    }

                    log($"fault hang: mode={mode}, no further requests are answered");
                    return mode == "stop"
                        ? new HttpResponse(200, "hanging (SIGSTOP)\n") { AfterSend = FaultState.HangBySigStop }
                        : new HttpResponse(200, "hanging\n") { AfterSend = faults.HangInProcess };
                case "/fault/leak":
                    double mbPerSecond = Number(request, "mb_per_s", 20, 0.001, 10_000);
                    double maxMb = Number(request, "max_mb", 4096, 1, 1_000_000);
                    faults.StartLeak(mbPerSecond, maxMb);
                    log($"fault leak: {Format(mbPerSecond)} MB/s up to {Format(maxMb)} MB");
                    return new HttpResponse(200, $"leaking {Format(mbPerSecond)} MB/s\n");
                case "/fault/slow":
                    int ms = (int)Number(request, "ms", 1000, 0, 600_000, integer: true);
                    faults.SetSlow(ms);
                    log($"fault slow: +{ms} ms per request");
                    return new HttpResponse(200, $"slow {ms} ms\n");
                case "/fault/errors":
                    double rate = Number(request, "rate", 1, 0, 1);
                    faults.SetErrorRate(rate);
                    log($"fault errors: rate={Format(rate)}");
                    return new HttpResponse(200, $"error rate {Format(rate)}\n");
                case "/fault/unready":
                    faults.SetUnready();
                    log("fault unready: /readyz answers 503");
                    return new HttpResponse(200, "unready\n");
                case "/fault/cpu":
                    double seconds = Number(request, "seconds", 10, 0.001, 86_400);
                    FaultState.BurnCpu(seconds);
                    log($"fault cpu: spinning one thread for {Format(seconds)} s");
                    return new HttpResponse(200, $"burning cpu for {Format(seconds)} s\n");
                case "/fault/reset":
                    faults.Reset();
                    log("fault reset: slow, errors, unready and leak cleared");
                    return new HttpResponse(200, "reset\n");
                default:
                    return new HttpResponse(404, $"no such fault: {request.Path}\n");
            }
        }
        catch (FormatException ex)
        {
            return new HttpResponse(400, ex.Message + "\n");
        }
    }

    private static double Number(HttpRequest request, string name, double fallback, double min, double max, bool integer = false)
    {
        if (!request.Query.TryGetValue(name, out string? text))
        {
            return fallback;
        }

        NumberStyles styles = integer ? NumberStyles.None : NumberStyles.AllowDecimalPoint;
        if (!double.TryParse(text, styles, CultureInfo.InvariantCulture, out double value) || value < min || value > max)
        {
            string kind = integer ? "an integer" : "a number";
            throw new FormatException($"{name} must be {kind} between {Format(min)} and {Format(max)}, got '{text}'");
        }

        return value;
    }

    private static string Format(double value) => value.ToString(CultureInfo.InvariantCulture);

    private string Metrics()
    {
        _startTimeSeconds ??= StartTimeSeconds();
        var text = new StringBuilder(1024);
        Metric(text, "workload_requests_total", "counter", "HTTP requests received.", Interlocked.Read(ref _requests));
        Metric(text, "workload_errors_total", "counter", "HTTP requests answered with a 5xx status.", Interlocked.Read(ref _errors));
        Metric(text, "workload_resident_memory_bytes", "gauge", "Resident set size of the process in bytes.", ResidentBytes());
        Metric(text, "workload_leaked_bytes", "gauge", "Bytes held by the leak fault.", faults.LeakedBytes);
        Metric(text, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", _startTimeSeconds.Value);
        return text.ToString();
    }

    private static void Metric(StringBuilder text, string name, string type, string help, double value) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n')
            .Append(name).Append(' ').Append(value.ToString("0.###", CultureInfo.InvariantCulture)).Append('\n');

    /// <summary>RSS from /proc/self/statm (pages), which is cheaper than Process and exactly what the kernel accounts.</summary>
    public static long ResidentBytes()
    {
        try
        {
            string statm = File.ReadAllText("/proc/self/statm");
            string[] fields = statm.Split(' ');
            return long.Parse(fields[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
        }
        catch (IOException)
        {
            return Environment.WorkingSet;
        }
    }

    private static double StartTimeSeconds()
    {
        using var self = Process.GetCurrentProcess();
        return (self.StartTime.ToUniversalTime() - DateTime.UnixEpoch).TotalSeconds;
    }
}
