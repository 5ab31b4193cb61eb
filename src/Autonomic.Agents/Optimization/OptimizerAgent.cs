using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Autonomic.Agents.Fleet;
using Autonomic.Agents.Monitoring;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Scaling;
using Autonomic.Core.Specs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Autonomic.Agents.Optimization;

/// <summary>Knobs of the optimization agent (prices and auto_apply come from the fleet's <c>cost:</c> section).</summary>
public sealed record OptimizerOptions
{
    /// <summary>How often the report is recomputed.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>Samples per instance kept for the percentiles.</summary>
    public int Window { get; init; } = 720;
    /// <summary>Samples of a service needed before a limit is right-sized.</summary>
    public int MinSamples { get; init; } = 10;
    /// <summary>Decide and record, but publish no command.</summary>
    public bool DryRun { get; init; }
}

/// <summary>
/// The optimization agent: keeps a window of CPU and memory samples per instance (from the monitor) and the traffic per
/// service (from the load balancer), prices them with the <see cref="CostModel"/>, and recommends right-sized limits and
/// scaling idle services down. With <see cref="CostSettings.AutoApply"/> it carries the recommendations out within
/// each service's scaling bounds (<c>service.apply</c> for limits, <c>service.scale</c> for idle services), recording
/// every change as an action. The latest report is kept for the API and, when a document store is given, stored.
/// </summary>
public sealed partial class OptimizerAgent : SubscribingAgent
{
    /// <summary>The agent's name in the audit trail.</summary>
    public const string Agent = "optimizer";

    /// <summary>Where the report is stored: collection and id in the document store.</summary>
    public const string ReportCollection = "optimization";
    public const string ReportId = "cost";

    private static readonly string Source = AgentNames.Source(Agent);
    private readonly ConcurrentDictionary<string, InstanceSamples> _instances = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (TrafficSample Sample, DateTimeOffset LastBusy)> _traffic = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ServiceSpec> _specs = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, double> _soFar = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _replicas = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string Suggested, DateTimeOffset At)> _applied = new(StringComparer.Ordinal);
    private readonly IEventBus _bus;
    private readonly ActionRecorder _actions;
    private readonly InstanceRegistry _registry;
    private readonly TimeProvider _time;
    private readonly CostSettings _prices;
    private readonly OptimizerOptions _options;
    private readonly IDocumentStore? _documents;
    private readonly ILogger<OptimizerAgent> _logger;
    private readonly DateTimeOffset _startedAt;
    private DateTimeOffset _lastPass;
    private volatile CostReport? _report;

    public OptimizerAgent(
        IEventBus bus,
        IStateStore store,
        FleetSpec fleet,
        InstanceRegistry registry,
        TimeProvider time,
        OptimizerOptions options,
        ILogger<OptimizerAgent> logger,
        IDocumentStore? documents = null)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        _bus = bus;
        _actions = new ActionRecorder(store, time, Agent);
        _registry = registry;
        _time = time;
        _prices = fleet.Settings.Cost;
        _options = options;
        _documents = documents;
        _logger = logger;
        foreach (var spec in fleet.Services)
        {
            _specs[spec.Name] = spec;
            _replicas[spec.Name] = spec.Replicas;
        }

        _startedAt = time.GetUtcNow();
        _lastPass = _startedAt;
    }

    /// <summary>The latest report, or null before the first pass.</summary>
    public CostReport? CurrentReport => _report;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new SubscriptionOptions { Capacity = 10_000 };
        Keep(_bus.Subscribe(EventTypes.MetricSample, $"{Agent}-metrics-{RecordIds.New("p")}", OnMetricAsync, options with { Transient = true }));
        Keep(_bus.Subscribe(EventTypes.TrafficSample, Agent, OnTrafficAsync, options));
        Keep(_bus.Subscribe(EventTypes.ServiceApply, Agent, OnApplyAsync, options));
        Keep(_bus.Subscribe(EventTypes.ServiceScale, Agent, OnScaleAsync, options));
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.Interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await RunOnceAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogPassFailed(ex);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Computes the report (and applies recommendations when auto_apply is on). Public for tests and the API.</summary>
    public async Task<CostReport> RunOnceAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        double hours = Math.Max(0, (now - _lastPass).TotalHours);
        _lastPass = now;
        var services = new List<ServiceCost>();
        foreach (var spec in _specs.Values.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            var cost = Assess(spec, now, hours);
            var applied = new List<Recommendation>();
            foreach (var r in cost.Recommendations)
            {
                applied.Add(_prices.AutoApply && !_options.DryRun ? await ApplyAsync(spec, r, ct).ConfigureAwait(false) : r);
            }

            services.Add(cost with { Recommendations = applied });
        }

        var report = new CostReport { At = now, Currency = _prices.Currency, Prices = _prices, Services = services };
        _report = report;
        if (_documents is not null)
        {
            await _documents.PutDocumentAsync(ReportCollection, ReportId, JsonSerializer.Serialize(report, JsonDefaults.Options), null, ct).ConfigureAwait(false);
        }

        return report;
    }

    private ServiceCost Assess(ServiceSpec spec, DateTimeOffset now, double hours)
    {
        var mine = _instances.Where(i => i.Value.Service == spec.Name).Select(i => i.Value).ToList();
        var cpu = new List<double>();
        var rss = new List<double>();
        foreach (var i in mine)
        {
            lock (i)
            {
                cpu.AddRange(i.Cpu);
                rss.AddRange(i.Rss);
            }
        }

        int replicas = _registry.Snapshot().Count(l => l.Record.Service == spec.Name && InstanceStates.IsAlive(l.Record.State));
        if (replicas == 0)
        {
            replicas = _replicas.GetValueOrDefault(spec.Name, spec.Replicas);
        }

        double? cpuP95 = CostModel.Percentile(cpu, 0.95);
        double? rssP95 = CostModel.Percentile(rss, 0.95);
        double cpuMean = cpu.Count > 0 ? cpu.Average() : 0;
        double rssMean = rss.Count > 0 ? rss.Average() : 0;
        var (replicaCost, cpuCost, memoryCost) = CostModel.PerHour(_prices, replicas, cpuMean, rssMean);
        double soFar = _soFar.AddOrUpdate(spec.Name, (replicaCost + cpuCost + memoryCost) * hours, (_, v) => v + ((replicaCost + cpuCost + memoryCost) * hours));

        var recommendations = new List<Recommendation>();
        if (cpu.Count >= _options.MinSamples && cpuP95 is { } cp && CostModel.RightSizeCpu(_prices, replicas, spec.Limits.Cpus, cp) is { } rc)
        {
            recommendations.Add(rc);
        }

        if (rss.Count >= _options.MinSamples && rssP95 is { } rp && CostModel.RightSizeMemory(_prices, replicas, spec.Limits.MemoryBytes, rp) is { } rm)
        {
            recommendations.Add(rm);
        }

        TrafficSample? traffic = null;
        if (_traffic.TryGetValue(spec.Name, out var t))
        {
            traffic = t.Sample;
            var idleFor = now - t.LastBusy;
            // Without a scaling section a service is not scaled to zero: one replica stays.
            int floor = spec.Scaling?.Min ?? 1;
            if (idleFor >= _prices.IdleAfter && replicas > floor)
            {
                recommendations.Add(new Recommendation
                {
                    Kind = "idle",
                    Detail = $"no traffic for {idleFor.TotalMinutes:0} min: scale to {floor}",
                    Current = replicas.ToString(CultureInfo.InvariantCulture),
                    Suggested = floor.ToString(CultureInfo.InvariantCulture),
                    SavingsPerHour = (replicas - floor) * ((replicaCost + cpuCost + memoryCost) / Math.Max(1, replicas)),
                });
            }
        }

        return new ServiceCost
        {
            Service = spec.Name,
            Replicas = replicas,
            CpuCoresP95 = cpuP95,
            RssBytesP95 = rssP95 is { } r ? (long)r : null,
            CpuLimit = spec.Limits.Cpus,
            MemoryLimitBytes = spec.Limits.MemoryBytes,
            RequestsPerSecond = traffic?.RequestsPerSecond,
            ReplicaPerHour = replicaCost,
            CpuPerHour = cpuCost,
            MemoryPerHour = memoryCost,
            SoFar = soFar,
            Recommendations = recommendations,
        };
    }

    private async Task<Recommendation> ApplyAsync(ServiceSpec spec, Recommendation r, CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        string key = $"{spec.Name}/{r.Kind}";
        // The same change is applied once; the healer needs time to carry it out before the observations show it.
        if (_applied.TryGetValue(key, out var done) && done.Suggested == r.Suggested && now - done.At < 10 * _options.Interval)
        {
            return r with { Applied = true };
        }

        CloudEvent command;
        ServiceSpec? updated = null;
        switch (r.Kind)
        {
            case "idle":
                int to = int.Parse(r.Suggested, CultureInfo.InvariantCulture);
                command = CloudEvent.Create(Source, EventTypes.ServiceScale, spec.Name, now, new ServiceCommand(spec.Name, to, r.Detail, Agent));
                break;
            case "cpu" when r.Current != "none":
                updated = spec with { Limits = spec.Limits with { Cpus = double.Parse(r.Suggested, CultureInfo.InvariantCulture) } };
                command = CloudEvent.Create(Source, EventTypes.ServiceApply, spec.Name, now, updated);
                break;
            case "memory" when r.Current != "none":
                updated = spec with { Limits = spec.Limits with { MemoryBytes = CostModel.MiBytes(r.Suggested) } };
                command = CloudEvent.Create(Source, EventTypes.ServiceApply, spec.Name, now, updated);
                break;
            default:
                // Setting a limit that was never set is left to people: it changes how the instance is treated.
                return r;
        }

        var action = await _actions.IntentAsync(_actions.New(r.Kind == "idle" ? "scale_down" : "resize", spec.Name, $"optimization.{r.Kind}",
            $"{r.Detail} ({r.Current} -> {r.Suggested}, saves {r.SavingsPerHour:0.####} {_prices.Currency}/h)",
            new Dictionary<string, string> { ["current"] = r.Current, ["suggested"] = r.Suggested }, now), ct).ConfigureAwait(false);
        try
        {
            await _bus.PublishAsync(command, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await _actions.FailAsync(action, ex).ConfigureAwait(false);
            return r;
        }

        _applied[key] = (r.Suggested, now);
        if (updated is not null)
        {
            _specs[spec.Name] = updated;
        }
        else
        {
            _replicas[spec.Name] = int.Parse(r.Suggested, CultureInfo.InvariantCulture);
        }

        await _actions.CompleteAsync(action, ActionStatus.Succeeded, $"published {command.Type}", ct).ConfigureAwait(false);
        LogApplied(spec.Name, r.Kind, r.Current, r.Suggested);
        return r with { Applied = true };
    }

    private Task OnMetricAsync(CloudEvent evt, CancellationToken ct)
    {
        if (Read<MetricSampleData>(evt) is { } m)
        {
            var service = _registry.Get(m.InstanceId)?.Record.Service ?? ServiceOf(m.InstanceId);
            if (service is not null)
            {
                var window = _instances.GetOrAdd(m.InstanceId, _ => new InstanceSamples(service));
                lock (window)
                {
                    window.Add(m.CpuCores, m.RssBytes, _options.Window);
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>An instance id is <c>service-index</c>; used when the live view does not know the instance yet.</summary>
    private string? ServiceOf(string instanceId)
    {
        int dash = instanceId.LastIndexOf('-');
        return dash > 0 && _specs.ContainsKey(instanceId[..dash]) ? instanceId[..dash] : null;
    }

    private Task OnTrafficAsync(CloudEvent evt, CancellationToken ct)
    {
        if (Read<TrafficSample>(evt) is { } s)
        {
            var now = _time.GetUtcNow();
            bool busy = s.RequestsPerSecond > 0 || s.InFlight > 0;
            _traffic.AddOrUpdate(s.Service, _ => (s, busy ? now : _startedAt), (_, old) => (s, busy ? now : old.LastBusy));
        }

        return Task.CompletedTask;
    }

    private Task OnApplyAsync(CloudEvent evt, CancellationToken ct)
    {
        if (Read<ServiceSpec>(evt) is { } spec)
        {
            _specs[spec.Name] = spec;
            _replicas[spec.Name] = spec.Replicas;
        }

        return Task.CompletedTask;
    }

    private Task OnScaleAsync(CloudEvent evt, CancellationToken ct)
    {
        if (Read<ServiceCommand>(evt) is { Replicas: { } n } c)
        {
            _replicas[c.Service] = n;
        }

        return Task.CompletedTask;
    }

    private T? Read<T>(CloudEvent evt)
        where T : class
    {
        try
        {
            return evt.Data is { } data ? data.Deserialize<T>(JsonDefaults.Options) : null;
        }
        catch (JsonException ex)
        {
            LogBadEvent(evt.Type, evt.Id, ex.Message);
            return null;
        }
    }

    private sealed class InstanceSamples(string service)
    {
        public string Service { get; } = service;
        public Queue<double> Cpu { get; } = new();
        public Queue<double> Rss { get; } = new();

        public void Add(double cpu, long rss, int window)
        {
            Cpu.Enqueue(cpu);
            Rss.Enqueue(rss);
            while (Cpu.Count > window)
            {
                Cpu.Dequeue();
                Rss.Dequeue();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "optimization pass failed")]
    private partial void LogPassFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Information, Message = "optimized {Service}: {Kind} {Current} -> {Suggested}")]
    private partial void LogApplied(string service, string kind, string current, string suggested);

    [LoggerMessage(Level = LogLevel.Warning, Message = "dropped a malformed {Type} event {Id}: {Error}")]
    private partial void LogBadEvent(string type, string id, string error);
}
