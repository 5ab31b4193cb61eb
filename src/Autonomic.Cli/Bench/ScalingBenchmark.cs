using System.Collections.Concurrent;
using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Autonomic.Cli.Load;
using Autonomic.Core.Scaling;
using Autonomic.Core.Specs;
using Autonomic.Traffic;

namespace Autonomic.Cli.Bench;

/// <summary>Settings of <c>bench scaling</c>.</summary>
public sealed record ScalingBenchOptions
{
    /// <summary>Total wall time of the replays, split evenly between the policies (they run one after another).</summary>
    public double Minutes { get; init; } = 9;
    public string Trace { get; init; } = DefaultTrace;
    /// <summary>Rows (minutes) of the busy stretch replayed.</summary>
    public int StretchRows { get; init; } = 180;
    public double TraceIntervalSeconds { get; init; } = 60;
    /// <summary>The busiest row of the stretch is replayed at this rate.</summary>
    public double PeakRps { get; init; } = 300;
    public double WorkMs { get; init; } = 1;
    public double WorkWaitMs { get; init; } = 9;
    public int WorkSlots { get; init; } = 1;
    public int MinReplicas { get; init; } = 1;
    public int MaxReplicas { get; init; } = 6;
    /// <summary>Target utilisation of a replica's saturation rate.</summary>
    public double TargetUtilization { get; init; } = 0.7;
    public double SloMs { get; init; } = 100;
    public TimeSpan SloWindow { get; init; } = TimeSpan.FromSeconds(10);
    public IReadOnlyList<string> Policies { get; init; } = ScalingBenchmark.AllPolicies;
    /// <summary>Wall time from asking for a replica to it taking traffic (process start, readiness, warm-up).</summary>
    public double ReplicaStartSeconds { get; init; } = 2;
    /// <summary>The predictive policy's step in trace time (its default: 5 minutes; per-minute counts are too noisy to forecast).</summary>
    public TimeSpan PredictiveStep { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Length of the traffic's season (the NASA trace is daily).</summary>
    public TimeSpan Season { get; init; } = TimeSpan.FromDays(1);
    /// <summary>Seasons of the trace before the busy stretch that the predictive policy learns from before the replay.</summary>
    public int HistorySeasons { get; init; } = 4;

    /// <summary>
    /// The NASA per-minute trace in the project's shared data directory: <c>shared/data/nasa-http-1995/...</c> in
    /// the working directory, beside the executable, or in a directory above either.
    /// </summary>
    public static string DefaultTrace => FindShared("data/nasa-http-1995/nasa_http_1995_requests_per_minute.csv");

    private static string FindShared(string relative)
    {
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "shared", relative);
                if (File.Exists(candidate))
                {
                    return candidate;
                }
            }
        }

        return Path.Combine("shared", relative);
    }

    /// <summary>Requests per second at which one replica saturates.</summary>
    public double CapacityPerReplica => WorkSlots * 1000 / (WorkMs + WorkWaitMs);
}

/// <summary>One policy's outcome.</summary>
public sealed record ScalingBenchRow(
    string Policy,
    double SloViolationSeconds,
    long FailedRequests,
    long FailedByScaleDown,
    double ReplicaSeconds,
    long Requests,
    int PeakReplicas,
    double LatencyMsP95,
    int ScaleUps,
    int ScaleDowns);

/// <summary>
/// <c>autonomic bench scaling</c>: replays the busy stretch of the NASA-HTTP 1995 trace, time-compressed,
/// through the YARP load balancer against real workload processes with a fixed cost per request, once per
/// policy (fixed_max, hpa, predictive), and measures SLO-violation time, failed requests, requests that failed
/// on a replica being removed, and replica-seconds. The policies run one after another, never at the same
/// time: on two cores, concurrent runs would steal CPU from each other and measure the neighbour.
/// </summary>
public sealed class ScalingBenchmark(ScalingBenchOptions options, TextWriter log, TimeProvider? time = null)
{
    public static readonly IReadOnlyList<string> AllPolicies = ["fixed_max", "hpa", "predictive"];

    private const string Service = "web";
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly ScalingBenchOptions _options = options;

    /// <summary>The replayed schedule and the compression factor (trace time per wall second).</summary>
    public (LoadProfile Profile, double Compress) Schedule()
    {
        var s = MakePlan();
        return (s.Profile, s.Compress);
    }

    private sealed record ReplayPlan(LoadProfile Profile, double Compress, double Scale, RequestTrace Trace, int Start);

    private ReplayPlan MakePlan()
    {
        var full = Load.RequestTrace.ReadCsv(_options.Trace, _options.TraceIntervalSeconds);
        int start = Load.RequestTrace.BusiestStart(full.Requests, _options.StretchRows);
        var trace = full.Slice(start, _options.StretchRows);
        double perPolicySeconds = _options.Minutes * 60 / _options.Policies.Count;
        double compress = trace.Requests.Count * _options.TraceIntervalSeconds / perPolicySeconds;
        double peakRowRate = trace.Requests.Max() / (_options.TraceIntervalSeconds / compress);
        double scale = peakRowRate > 0 ? _options.PeakRps / peakRowRate : 1;
        return new ReplayPlan(LoadProfile.Replay(trace.Requests, _options.TraceIntervalSeconds, compress, scale), compress, scale, full, start);
    }

    public async Task<IReadOnlyList<ScalingBenchRow>> RunAsync(CancellationToken ct)
    {
        var plan = MakePlan();
        var (profile, compress) = (plan.Profile, plan.Compress);
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"bench scaling: {profile.Description}; {profile.Duration.TotalSeconds:0} s per policy, ~{profile.TotalRequests:0} requests; replica saturates at {_options.CapacityPerReplica:0} rps, target {_options.CapacityPerReplica * _options.TargetUtilization:0} rps"));
        var rows = new List<ScalingBenchRow>();
        foreach (string name in _options.Policies)
        {
            IScalingPolicy policy = CreatePolicy(name, compress);
            if (policy is PredictivePolicy predictive)
            {
                int learned = Learn(predictive, plan);
                await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"bench scaling: predictive learned {learned} trace rows before the stretch (history {predictive.HistoryLength} steps, recent forecast error {(predictive.RecentError is { } e ? e.ToString("P0", CultureInfo.InvariantCulture) : "unknown")})"));
            }

            rows.Add(await RunPolicyAsync(name, policy, profile, compress, TraceTime(plan.Start), ct));
            await log.WriteLineAsync(ToMarkdown([rows[^1]]).Split('\n')[2]);
        }

        return rows;
    }

    /// <summary>
    /// The real policies, on the trace's clock: every policy is given trace time (wall time × compression), so the
    /// Kubernetes HPA defaults (300 s scale-down stabilization, 15 s rate periods) and the predictive policy's step
    /// (one trace row), season (one day) and lead (replica start time and one loop tick, both scaled to trace time)
    /// mean the same thing they mean in production.
    /// </summary>
    internal IScalingPolicy CreatePolicy(string name, double compress)
    {
        var bounds = new ScalingBounds { Min = _options.MinReplicas, Max = _options.MaxReplicas };
        double target = _options.CapacityPerReplica * _options.TargetUtilization;
        var step = _options.PredictiveStep < TimeSpan.FromSeconds(_options.TraceIntervalSeconds)
            ? TimeSpan.FromSeconds(_options.TraceIntervalSeconds)
            : _options.PredictiveStep;
        return name switch
        {
            "fixed_max" => new FixedPolicy(_options.MaxReplicas, bounds),
            "hpa" => new HpaPolicy(new HpaPolicyOptions { Bounds = bounds, TargetRequestsPerReplica = target }),
            "predictive" => new PredictivePolicy(new PredictiveOptions
            {
                Bounds = bounds,
                CapacityPerReplica = target,
                StartTime = TimeSpan.FromSeconds(_options.ReplicaStartSeconds * compress),
                Margin = TimeSpan.FromSeconds(LoopTick.TotalSeconds * compress),
                Step = step,
                SeasonLength = Math.Max(2, (int)Math.Round(_options.Season / step)),
            }),
            _ => throw new ArgumentException($"unknown policy {name}"),
        };
    }

    private static readonly TimeSpan LoopTick = TimeSpan.FromSeconds(1);

    private static readonly DateTimeOffset TraceOrigin = new(1995, 7, 1, 0, 0, 0, TimeSpan.Zero);

    private DateTimeOffset TraceTime(int row) => TraceOrigin + TimeSpan.FromSeconds(row * _options.TraceIntervalSeconds);

    /// <summary>
    /// Feeds the predictive policy the trace rows before the busy stretch (up to <see cref="ScalingBenchOptions.HistorySeasons"/>
    /// seasons), at the same rate scale as the replay, as the history a running service would have; the count follows its
    /// own decisions, so nothing counts as an outside change. Returns the rows fed.
    /// </summary>
    private int Learn(PredictivePolicy policy, ReplayPlan plan)
    {
        int seasonRows = (int)Math.Round(_options.Season.TotalSeconds / _options.TraceIntervalSeconds);
        int from = Math.Max(0, plan.Start - (_options.HistorySeasons * seasonRows));
        int current = _options.MinReplicas;
        for (int row = from; row < plan.Start; row++)
        {
            double rps = plan.Trace.Requests[row] / _options.TraceIntervalSeconds * plan.Compress * plan.Scale;
            DateTimeOffset at = TraceTime(row);
            var decision = policy.Decide(new ScalingInput
            {
                Service = Service,
                Now = at,
                CurrentReplicas = current,
                Traffic = new TrafficSample(Service, at, rps, 0, 0, 0, 0, current),
            });
            current = decision.To;
        }

        return plan.Start - from;
    }

    private async Task<ScalingBenchRow> RunPolicyAsync(string name, IScalingPolicy policy, LoadProfile profile, double compress, DateTimeOffset traceStart, CancellationToken ct)
    {
        var source = new ManualBackendSource();
        var metrics = new TrafficMetrics();
        var spec = new ServiceSpec
        {
            Name = Service,
            Command = "autonomic-workload",
            Health = new HealthChecks { Readiness = new ProbeSpec { Path = "/readyz" } },
            LoadBalancer = new LoadBalancerSpec
            {
                Port = 1,
                Algorithm = LoadBalancingAlgorithm.LeastRequests,
                HealthInterval = TimeSpan.FromSeconds(1),
                DrainTimeout = TimeSpan.FromSeconds(10),
            },
        };
        await using var host = new LoadBalancerHost(source, metrics, _time);
        await host.StartAsync([spec], portOverride: 0, ct);
        ServiceLoadBalancer balancer = host[Service]!;
        var fleet = new Replicas(this, source, balancer, spec.LoadBalancer.DrainTimeout);
        double target = _options.CapacityPerReplica * _options.TargetUtilization;
        int initial = policy is FixedPolicy
            ? _options.MaxReplicas
            : Math.Clamp((int)Math.Ceiling(profile.RateAt(TimeSpan.Zero) / target), _options.MinReplicas, _options.MaxReplicas);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, initial).Select(_ => fleet.AddAsync(ct)));
            var removedAt = new ConcurrentDictionary<string, TimeSpan>(StringComparer.Ordinal);
            long failedByScaleDown = 0;
            var loadOptions = new LoadOptions { Target = new Uri(balancer.Address, "work"), Timeout = TimeSpan.FromSeconds(5), Window = _options.SloWindow };
            var generator = new LoadGenerator(loadOptions, _time)
            {
                OnResult = r =>
                {
                    if (r.Outcome is LoadOutcome.Error or LoadOutcome.Timeout && r.Instance is { } id
                        && removedAt.TryGetValue(id, out TimeSpan removed) && r.SentAt + r.Latency >= removed)
                    {
                        Interlocked.Increment(ref failedByScaleDown);
                    }
                },
            };
            using (var warm = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) })
            {
                // The proxy's own warm-up (connections, JIT), outside the measured replay.
                for (int i = 0; i < 50; i++)
                {
                    using var answer = await warm.GetAsync(new Uri(balancer.Address, "work"), ct);
                }
            }

            long start = _time.GetTimestamp();
            Task<LoadReport> run = generator.RunAsync(profile, ct);
            double replicaSeconds = 0;
            int peak = fleet.Live;
            int ups = 0;
            int downs = 0;
            long last = start;
            using var timer = new PeriodicTimer(LoopTick, _time);
            while (!run.IsCompleted && await timer.WaitForNextTickAsync(ct))
            {
                long now = _time.GetTimestamp();
                replicaSeconds += fleet.Live * _time.GetElapsedTime(last, now).TotalSeconds;
                last = now;
                if (!host.Latest.TryGetValue(Service, out var sample))
                {
                    continue;
                }

                TimeSpan elapsed = _time.GetElapsedTime(start);
                int current = fleet.Wanted;
                int desired = policy.Decide(new ScalingInput
                {
                    Service = Service,
                    Now = traceStart + (elapsed * compress),
                    CurrentReplicas = current,
                    Traffic = sample,
                }).To;
                if (desired > current)
                {
                    ups++;
                    for (int i = current; i < desired; i++)
                    {
                        _ = fleet.AddAsync(ct);
                    }
                }
                else if (desired < current)
                {
                    downs++;
                    foreach (string id in fleet.PickForRemoval(current - desired))
                    {
                        removedAt[id] = elapsed;
                        _ = fleet.RemoveAsync(id);
                    }
                }

                peak = Math.Max(peak, fleet.Live);
            }

            LoadReport report = await run;
            replicaSeconds += fleet.Live * _time.GetElapsedTime(last).TotalSeconds;
            double violation = report.Windows.Where(w => w.Sent > 0 && w.LatencyMsP95 > _options.SloMs).Sum(w => Math.Min(w.Seconds, profile.Duration.TotalSeconds - w.StartSeconds));
            long failed = report.Summary.Errors + report.Summary.Timeouts + report.Summary.Dropped;
            return new ScalingBenchRow(name, Math.Round(violation, 1), failed, Interlocked.Read(ref failedByScaleDown),
                Math.Round(replicaSeconds, 1), report.Summary.Sent, peak, Math.Round(report.Summary.LatencyMsP95, 1), ups, downs);
        }
        finally
        {
            await fleet.DisposeAsync();
        }
    }

    /// <summary>The replicas of one run: real workload processes, added to the load balancer when ready, drained before SIGTERM.</summary>
    private sealed class Replicas(ScalingBenchmark bench, ManualBackendSource source, ServiceLoadBalancer balancer, TimeSpan drainTimeout) : IAsyncDisposable
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, (ChildProcess Process, Uri Address)> _ready = new(StringComparer.Ordinal);
        private readonly List<ChildProcess> _all = [];
        private int _starting;
        private int _next;
        private int _stopping;

        /// <summary>Ready plus starting: what the policy counts as current.</summary>
        public int Wanted
        {
            get
            {
                lock (_lock)
                {
                    return _ready.Count + _starting;
                }
            }
        }

        /// <summary>Processes alive (starting, ready or draining): what costs replica-seconds.</summary>
        public int Live
        {
            get
            {
                lock (_lock)
                {
                    return _ready.Count + _starting + _stopping;
                }
            }
        }

        public async Task AddAsync(CancellationToken ct)
        {
            string id;
            lock (_lock)
            {
                _starting++;
                id = $"{Service}-{_next++}";
            }

            try
            {
                int port = FreePort();
                var command = ServiceCommand.Workload(port);
                var options = bench._options;
                var args = command.Args.Concat([
                    "--work-ms", options.WorkMs.ToString(CultureInfo.InvariantCulture),
                    "--work-wait-ms", options.WorkWaitMs.ToString(CultureInfo.InvariantCulture),
                    "--work-slots", options.WorkSlots.ToString(CultureInfo.InvariantCulture)]);
                var process = ChildProcess.Start(command.Executable, args, env: new Dictionary<string, string> { ["AUTONOMIC_INSTANCE"] = id });
                lock (_lock)
                {
                    _all.Add(process);
                }

                var address = new Uri($"http://127.0.0.1:{port}/");
                using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(1) };
                long deadline = bench._time.GetTimestamp() + (15 * bench._time.TimestampFrequency);
                while (true)
                {
                    try
                    {
                        using var answer = await http.GetAsync(new Uri(address, "readyz"), ct);
                        if (answer.StatusCode == HttpStatusCode.OK)
                        {
                            break;
                        }
                    }
                    catch (HttpRequestException)
                    {
                    }
                    catch (TaskCanceledException) when (!ct.IsCancellationRequested)
                    {
                    }

                    if (process.HasExited || bench._time.GetTimestamp() > deadline)
                    {
                        throw new InvalidOperationException($"replica {id} did not become ready: {process.Tail}");
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(20), bench._time, ct);
                }

                // Warm-up before it takes traffic (JIT of the request path), as a readiness gate on a real service would.
                for (int i = 0; i < 20; i++)
                {
                    using var warm = await http.GetAsync(new Uri(address, "work"), ct);
                }

                lock (_lock)
                {
                    _ready[id] = (process, address);
                    Publish();
                }
            }
            finally
            {
                lock (_lock)
                {
                    _starting--;
                }
            }
        }

        /// <summary>The newest ready replicas.</summary>
        public IReadOnlyList<string> PickForRemoval(int count)
        {
            lock (_lock)
            {
                return _ready.Keys.OrderByDescending(k => int.Parse(k[(k.LastIndexOf('-') + 1)..], CultureInfo.InvariantCulture)).Take(count).ToArray();
            }
        }

        /// <summary>Out of the destinations, drained, then SIGTERM: the order the healer follows on scale-down.</summary>
        public async Task RemoveAsync(string id)
        {
            ChildProcess process;
            lock (_lock)
            {
                if (!_ready.Remove(id, out var entry))
                {
                    return;
                }

                process = entry.Process;
                _stopping++;
                Publish();
            }

            try
            {
                await balancer.DrainAsync(id, drainTimeout);
                process.Signal(15);
                await process.WaitForExitAsync(TimeSpan.FromSeconds(5));
            }
            finally
            {
                lock (_lock)
                {
                    _stopping--;
                }
            }
        }

        private void Publish() => source.Set(Service, _ready.Select(r => new Backend(r.Key, r.Value.Address)).ToArray());

        public async ValueTask DisposeAsync()
        {
            ChildProcess[] all;
            lock (_lock)
            {
                all = [.. _all];
                _ready.Clear();
            }

            foreach (ChildProcess p in all)
            {
                if (!p.HasExited)
                {
                    p.Signal(15);
                    if (!await p.WaitForExitAsync(TimeSpan.FromSeconds(3)))
                    {
                        p.KillGroup();
                    }
                }

                p.Dispose();
            }
        }

        private static int FreePort()
        {
            using var l = new TcpListener(IPAddress.Loopback, 0);
            l.Start();
            return ((IPEndPoint)l.LocalEndpoint).Port;
        }
    }

    public static string ToMarkdown(IReadOnlyList<ScalingBenchRow> rows)
    {
        var text = new StringBuilder();
        text.Append("| policy | SLO violation (s) | failed requests | failed by scale-down | replica-seconds | requests | peak replicas | p95 ms | scale-ups | scale-downs |\n");
        text.Append("|---|---|---|---|---|---|---|---|---|---|\n");
        foreach (var r in rows)
        {
            text.Append(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Policy} | {r.SloViolationSeconds:0.#} | {r.FailedRequests} | {r.FailedByScaleDown} | {r.ReplicaSeconds:0.#} | {r.Requests} | {r.PeakReplicas} | {r.LatencyMsP95:0.#} | {r.ScaleUps} | {r.ScaleDowns} |\n"));
        }

        return text.ToString();
    }

    public static string ToJson(IReadOnlyList<ScalingBenchRow> rows) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["rows"] = rows.Select(r => new Dictionary<string, object>
        {
            ["policy"] = r.Policy,
            ["slo_violation_s"] = r.SloViolationSeconds,
            ["failed_requests"] = r.FailedRequests,
            ["failed_by_scale_down"] = r.FailedByScaleDown,
            ["replica_seconds"] = r.ReplicaSeconds,
            ["requests"] = r.Requests,
            ["peak_replicas"] = r.PeakReplicas,
            ["latency_ms_p95"] = r.LatencyMsP95,
            ["scale_ups"] = r.ScaleUps,
            ["scale_downs"] = r.ScaleDowns,
        }).ToArray(),
    }, new JsonSerializerOptions { WriteIndented = true }) + "\n";

    /// <summary>Builds the <c>bench scaling</c> command.</summary>
    public static Command Create()
    {
        var minutes = new Option<double>("--minutes") { Description = "Total replay time over all policies (they run one after another); at most 10.", DefaultValueFactory = _ => 9 };
        var trace = new Option<string>("--trace") { Description = "Requests-per-interval CSV (default: the NASA-HTTP 1995 per-minute trace).", DefaultValueFactory = _ => ScalingBenchOptions.DefaultTrace };
        var stretch = new Option<int>("--stretch-rows") { Description = "Rows of the busy stretch replayed.", DefaultValueFactory = _ => 180 };
        var peak = new Option<double>("--peak-rps") { Description = "The busiest row is replayed at this rate.", DefaultValueFactory = _ => 300 };
        var max = new Option<int>("--max-replicas") { Description = "Upper bound (and the fixed_max size).", DefaultValueFactory = _ => 6 };
        var policies = new Option<string>("--policies") { Description = "Comma-separated: fixed_max, hpa, predictive.", DefaultValueFactory = _ => string.Join(',', AllPolicies) };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the rows as JSON to this file." };
        var md = new Option<FileInfo?>("--md") { Description = "Also write the Markdown table to this file." };
        var command = new Command("scaling", "Replay a busy stretch of the NASA trace through the load balancer under fixed_max, hpa and predictive scaling.")
        {
            minutes, trace, stretch, peak, max, policies, json, md,
        };
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            var chosen = (r.GetValue(policies) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToList();
            var unknown = chosen.Except(AllPolicies).ToList();
            double m = r.GetValue(minutes);
            if (unknown.Count > 0 || chosen.Count == 0 || m <= 0 || m > 10 || r.GetValue(stretch) < 1 || r.GetValue(peak) <= 0 || r.GetValue(max) < 1)
            {
                await Console.Error.WriteLineAsync(unknown.Count > 0
                    ? $"error: unknown policy: {string.Join(", ", unknown)}"
                    : "error: --minutes must be in (0, 10], --stretch-rows, --max-replicas at least 1 and --peak-rps above 0");
                return 2;
            }

            if (!File.Exists(r.GetValue(trace)))
            {
                await Console.Error.WriteLineAsync($"error: no trace file {r.GetValue(trace)}");
                return 2;
            }

            var options = new ScalingBenchOptions
            {
                Minutes = m,
                Trace = r.GetValue(trace)!,
                StretchRows = r.GetValue(stretch),
                PeakRps = r.GetValue(peak),
                MaxReplicas = r.GetValue(max),
                Policies = chosen,
            };
            try
            {
                var rows = await new ScalingBenchmark(options, Console.Error).RunAsync(ct);
                string table = ToMarkdown(rows);
                await Console.Out.WriteAsync(table);
                if (r.GetValue(json) is { } j)
                {
                    await File.WriteAllTextAsync(j.FullName, ToJson(rows), CancellationToken.None);
                }

                if (r.GetValue(md) is { } f)
                {
                    await File.WriteAllTextAsync(f.FullName, table, CancellationToken.None);
                }

                return 0;
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                await Console.Error.WriteLineAsync("bench scaling: cancelled; replicas stopped.");
                return 130;
            }
            catch (Exception e) when (e is InvalidOperationException or FormatException or FileNotFoundException)
            {
                await Console.Error.WriteLineAsync($"error: {e.Message}");
                return 1;
            }
            finally
            {
                ChildProcess.KillAllGroups();
            }
        });
        return command;
    }
}
