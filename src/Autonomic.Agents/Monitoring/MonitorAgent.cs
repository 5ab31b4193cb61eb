using System.Collections.Concurrent;
using System.Globalization;
using Autonomic.Agents.Fleet;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Policies;
using Autonomic.Core.Specs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Autonomic.Agents.Monitoring;

/// <summary>
/// The performance-monitoring agent: runs each instance's probes, samples its resources, keeps a rolling window
/// per instance and detects trends (memory toward its limit, latency degrading) before they become outages.
/// It only observes and publishes (<c>probe.*</c>, <c>metric.sample</c>, <c>anomaly.detected</c>); the healer acts.
/// </summary>
public sealed partial class MonitorAgent(
    InstanceRegistry registry,
    IProber prober,
    IProcessInspector inspector,
    IEventBus bus,
    TimeProvider time,
    MonitorOptions options,
    ILogger<MonitorAgent> logger) : BackgroundService
{
    private static readonly string Source = AgentNames.Source(AgentNames.Monitor);
    private readonly ConcurrentDictionary<(string Id, int Pid, string Probe), Worker> _workers = new();
    private readonly ConcurrentDictionary<string, InstanceWindow> _windows = new(StringComparer.Ordinal);

    /// <summary>The rolling window of an instance (newest last), for the API and tests.</summary>
    public IReadOnlyList<TrendPoint> WindowOf(string instanceId) =>
        _windows.TryGetValue(instanceId, out var w) ? w.Points() : [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var nextSample = time.GetUtcNow();
        using var timer = new PeriodicTimer(options.ReconcileInterval, time);
        try
        {
            do
            {
                try
                {
                    ReconcileWorkers(stoppingToken);
                    if (time.GetUtcNow() >= nextSample)
                    {
                        nextSample = time.GetUtcNow() + options.SampleInterval;
                        await SampleAllAsync(stoppingToken).ConfigureAwait(false);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogPassFailed(ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var w in _workers.Values)
            {
                await w.Cancel.CancelAsync().ConfigureAwait(false);
            }
        }
    }

    private void ReconcileWorkers(CancellationToken stoppingToken)
    {
        var wanted = new HashSet<(string, int, string)>();
        foreach (var live in registry.Snapshot())
        {
            if (live.Record.Pid is not { } pid || !InstanceStates.IsProbed(live.Record.State))
            {
                continue;
            }

            foreach (var (name, probe) in ProbesOf(live.Spec.Health))
            {
                var key = (live.Record.Id, pid, name);
                wanted.Add(key);
                if (!_workers.ContainsKey(key))
                {
                    var cts = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    var worker = new Worker(cts);
                    _workers[key] = worker;
                    worker.Task = Task.Run(() => ProbeLoopAsync(live.Record.Id, pid, live.Record.Port, name, probe, live.Record.StartedAt ?? time.GetUtcNow(), cts.Token), CancellationToken.None);
                }
            }
        }

        foreach (var (key, worker) in _workers)
        {
            if (!wanted.Contains(key) && _workers.TryRemove(key, out _))
            {
                worker.Cancel.Cancel();
                worker.Cancel.Dispose();
            }
        }
    }

    private static IEnumerable<(string Name, ProbeSpec Probe)> ProbesOf(HealthChecks h)
    {
        if (h.Startup is { } s)
        {
            yield return ("startup", s);
        }

        if (h.Liveness is { } l)
        {
            yield return ("liveness", l);
        }

        if (h.Readiness is { } r)
        {
            yield return ("readiness", r);
        }
    }

    private async Task ProbeLoopAsync(string id, int pid, int? port, string name, ProbeSpec probe, DateTimeOffset startedAt, CancellationToken ct)
    {
        var tracker = ProbeTracker.Initial;
        try
        {
            var firstAt = startedAt + probe.InitialDelay;
            var wait = firstAt - time.GetUtcNow();
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time, ct).ConfigureAwait(false);
            }

            while (!ct.IsCancellationRequested)
            {
                var started = time.GetUtcNow();
                var state = registry.Get(id)?.Record.State;
                // Startup gates the other probes, as in Kubernetes; once startup has passed it stops probing.
                var active = name == "startup" ? state == InstanceState.Starting : state != InstanceState.Starting || registry.Get(id)?.Spec.Health.Startup is null;
                if (active)
                {
                    var result = await prober.ProbeAsync(probe, options.ProbeHost, port, ct).ConfigureAwait(false);
                    tracker = tracker.Observe(result.Ok, probe.SuccessThreshold, probe.FailureThreshold, started);
                    // Latency trends follow the liveness probe, or readiness when there is no liveness probe.
                    if (name == "liveness" || (name == "readiness" && registry.Get(id)?.Spec.Health.Liveness is null))
                    {
                        Window(id).AddLatency(result.Ok ? result.Latency.TotalMilliseconds : null);
                    }

                    // A failing liveness or startup verdict is repeated every period, so a healer that takes over late still
                    // hears it (level, not edge). Readiness is not: the store already holds an unready instance's state.
                    if (tracker.Changed || (tracker.Verdict == ProbeVerdict.Failing && name != "readiness"))
                    {
                        var data = new ProbeVerdictData
                        {
                            InstanceId = id,
                            Pid = pid,
                            Probe = name,
                            Passing = tracker.Verdict == ProbeVerdict.Passing,
                            FirstFailureAt = tracker.FirstFailureAt,
                            ConsecutiveFailures = tracker.Failures,
                            LatencyMs = result.Latency.TotalMilliseconds,
                            Detail = result.Detail,
                        };
                        var type = data.Passing ? EventTypes.ProbeSucceeded : EventTypes.ProbeFailed;
                        await bus.PublishAsync(CloudEvent.Create(Source, type, id, time.GetUtcNow(), data), ct).ConfigureAwait(false);
                        if (tracker.Changed)
                        {
                            LogVerdict(id, name, data.Passing ? "passing" : "failing", result.Detail);
                        }
                    }
                }

                var next = started + probe.Period - time.GetUtcNow();
                if (next > TimeSpan.Zero)
                {
                    await Task.Delay(next, time, ct).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            LogProbeLoopFailed(ex, id, name);
        }
    }

    private async Task SampleAllAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        foreach (var live in registry.Snapshot())
        {
            if (live.Record.Pid is not { } pid || !InstanceStates.IsProbed(live.Record.State))
            {
                continue;
            }

            var sample = inspector.Sample(pid, now);
            if (sample is null)
            {
                continue;
            }

            var window = Window(live.Record.Id);
            var cores = window.AddSample(pid, sample, live.Spec.Trends.Window);
            await bus.PublishAsync(CloudEvent.Create(Source, EventTypes.MetricSample, live.Record.Id, now, new MetricSampleData
            {
                InstanceId = live.Record.Id,
                Pid = pid,
                RssBytes = sample.RssBytes,
                CpuSeconds = sample.CpuSeconds,
                CpuCores = cores,
                OpenFiles = sample.OpenFiles,
                Threads = sample.Threads,
            }), ct).ConfigureAwait(false);

            var anomaly = Detect(live, pid, sample, window);
            if (anomaly is not null && window.TryFlag(pid, anomaly.Cause))
            {
                LogAnomaly(live.Record.Id, anomaly.Cause, anomaly.Detail);
                await bus.PublishAsync(CloudEvent.Create(Source, EventTypes.AnomalyDetected, live.Record.Id, now, anomaly), ct).ConfigureAwait(false);
            }
        }
    }

    private static AnomalyData? Detect(LiveInstance live, int pid, ProcessSample sample, InstanceWindow window)
    {
        var inv = CultureInfo.InvariantCulture;
        if (live.Spec.Limits.MemoryBytes is { } limit && sample.RssBytes > limit)
        {
            return new AnomalyData
            {
                InstanceId = live.Record.Id,
                Pid = pid,
                Cause = "oom",
                Detail = $"resident memory {sample.RssBytes / 1048576} MiB is over its {limit / 1048576} MiB limit",
                Evidence = new Dictionary<string, string> { ["rss_bytes"] = sample.RssBytes.ToString(inv), ["limit_bytes"] = limit.ToString(inv) },
            };
        }

        return Trends.Assess(window.Points(), live.Spec) is { } d
            ? new AnomalyData { InstanceId = live.Record.Id, Pid = pid, Cause = d.Cause, Detail = d.Detail, Evidence = d.Evidence }
            : null;
    }

    private InstanceWindow Window(string id) => _windows.GetOrAdd(id, _ => new InstanceWindow());

    private sealed class Worker(CancellationTokenSource cancel)
    {
        public CancellationTokenSource Cancel { get; } = cancel;
        public Task? Task { get; set; }
    }

    /// <summary>Rolling window of one instance; reset when its process changes.</summary>
    private sealed class InstanceWindow
    {
        private readonly Lock _lock = new();
        private readonly List<TrendPoint> _points = [];
        private readonly HashSet<string> _flagged = [];
        private int _pid;
        private ProcessSample? _last;
        private double? _latency;

        public double AddSample(int pid, ProcessSample sample, int capacity)
        {
            lock (_lock)
            {
                if (pid != _pid)
                {
                    _pid = pid;
                    _points.Clear();
                    _flagged.Clear();
                    _last = null;
                }

                var cores = _last is { } prev && sample.At > prev.At
                    ? (sample.CpuSeconds - prev.CpuSeconds) / (sample.At - prev.At).TotalSeconds
                    : 0;
                _last = sample;
                _points.Add(new TrendPoint(sample.At, sample.RssBytes, _latency));
                _latency = null;
                if (_points.Count > capacity)
                {
                    _points.RemoveRange(0, _points.Count - capacity);
                }

                return cores;
            }
        }

        public void AddLatency(double? latencyMs)
        {
            lock (_lock)
            {
                // Keep the worst latency seen since the last sample; failed probes are the liveness probe's business.
                if (latencyMs is { } l)
                {
                    _latency = Math.Max(_latency ?? 0, l);
                }
            }
        }

        /// <summary>True the first time a cause is flagged for the current process.</summary>
        public bool TryFlag(int pid, string cause)
        {
            lock (_lock)
            {
                return pid == _pid && _flagged.Add(cause);
            }
        }

        public IReadOnlyList<TrendPoint> Points()
        {
            lock (_lock)
            {
                return [.. _points];
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{InstanceId} {Probe} probe is now {Verdict}: {Detail}")]
    private partial void LogVerdict(string instanceId, string probe, string verdict, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{InstanceId} anomaly {Cause}: {Detail}")]
    private partial void LogAnomaly(string instanceId, string cause, string detail);

    [LoggerMessage(Level = LogLevel.Error, Message = "monitor pass failed")]
    private partial void LogPassFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Error, Message = "probe loop of {InstanceId} {Probe} failed")]
    private partial void LogProbeLoopFailed(Exception ex, string instanceId, string probe);
}
