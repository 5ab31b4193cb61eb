using System.Text.Json;
using Autonomic.Agents.Fleet;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Autonomic.Agents.Telemetry;

/// <summary>
/// The event-driven Prometheus metrics of one control-plane process, on a registry of its own (so several control
/// planes in one process never mix): counters and histograms fed by what crosses the bus (incidents with their time
/// to detect and to mitigate, actions, scaling decisions, security alerts and responses, tasks, external alerts,
/// traffic samples), and the bus's own backlog read at scrape time. Other components add their metrics through
/// <see cref="Factory"/>. Names and labels are listed in docs/observability.md.
/// </summary>
public sealed partial class FleetMetrics : BackgroundService
{
    private readonly IEventBus _bus;
    private readonly IStateStore _store;
    private readonly ILogger<FleetMetrics> _logger;
    private readonly Counter _events;
    private readonly Counter _incidents;
    private readonly Histogram _timeToDetect;
    private readonly Histogram _timeToMitigate;
    private readonly Counter _actions;
    private readonly Counter _scaling;
    private readonly Gauge _scalingDesired;
    private readonly Counter _securityAlerts;
    private readonly Counter _securityResponses;
    private readonly Counter _tasks;
    private readonly Counter _externalAlerts;
    private readonly Gauge _lbRate;
    private readonly Gauge _lbLatencyP95;
    private readonly Gauge _lbErrorRatio;
    private readonly Gauge _lbInFlight;
    private readonly Gauge _busBuffered;
    private readonly Gauge _busBacklog;
    private readonly Gauge _memory;
    private readonly Gauge _cpu;
    private readonly InstanceRegistry? _instances;
    private readonly HashSet<string> _mitigated = new(StringComparer.Ordinal);
    private readonly Queue<string> _mitigatedOrder = new();

    public FleetMetrics(IEventBus bus, IStateStore store, ILogger<FleetMetrics> logger, InstanceRegistry? instances = null)
    {
        _instances = instances;
        _bus = bus;
        _store = store;
        _logger = logger;
        Registry = Metrics.NewCustomRegistry();
        Factory = Metrics.WithCustomRegistry(Registry);
        _events = Factory.CreateCounter("autonomic_bus_events_total", "Events seen on the bus by type.", ["type"]);
        _incidents = Factory.CreateCounter("autonomic_incidents_opened_total", "Incidents opened, by service and cause.", ["service", "cause"]);
        var seconds = new[] { 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300 };
        _timeToDetect = Factory.CreateHistogram("autonomic_time_to_detect_seconds", "From the failure to its detection, per incident.",
            new HistogramConfiguration { LabelNames = ["service", "cause"], Buckets = seconds });
        _timeToMitigate = Factory.CreateHistogram("autonomic_time_to_mitigate_seconds", "From the detection to the mitigation, per incident.",
            new HistogramConfiguration { LabelNames = ["service", "cause"], Buckets = seconds });
        _actions = Factory.CreateCounter("autonomic_actions_total", "Completed agent actions by agent, kind and status.", ["agent", "kind", "status"]);
        _scaling = Factory.CreateCounter("autonomic_scaling_decisions_total", "Scaling decisions by service, policy and direction (up, down, none).", ["service", "policy", "direction"]);
        _scalingDesired = Factory.CreateGauge("autonomic_scaling_desired_replicas", "Replicas the scaling agent last decided on.", ["service"]);
        _securityAlerts = Factory.CreateCounter("autonomic_security_alerts_total", "Security alerts by rule.", ["rule"]);
        _securityResponses = Factory.CreateCounter("autonomic_security_responses_total", "Security responses by action (block, unblock, suspend_key, rate_limit, quarantine ...).", ["action"]);
        _tasks = Factory.CreateCounter("autonomic_task_transitions_total", "Task lifecycle events by status (queued, running, succeeded, failed, cancelled).", ["status"]);
        _externalAlerts = Factory.CreateCounter("autonomic_external_alerts_total", "Alerts received from Alertmanager, by alert name and status.", ["alertname", "status"]);
        _lbRate = Factory.CreateGauge("autonomic_lb_requests_per_second", "Requests per second through the service's load balancer (last sample).", ["service"]);
        _lbLatencyP95 = Factory.CreateGauge("autonomic_lb_latency_p95_seconds", "95th percentile latency through the load balancer (last sample).", ["service"]);
        _lbErrorRatio = Factory.CreateGauge("autonomic_lb_error_ratio", "Share of requests that failed (5xx or proxy error) in the last sample.", ["service"]);
        _lbInFlight = Factory.CreateGauge("autonomic_lb_in_flight_requests", "Requests in flight through the load balancer (last sample).", ["service"]);
        _busBuffered = Factory.CreateGauge("autonomic_bus_publish_buffered", "Events accepted by this process and not yet handed to the broker.");
        _busBacklog = Factory.CreateGauge("autonomic_bus_consumer_backlog", "Events waiting for a consumer group in this process (consumer lag).", ["group"]);
        _memory = Factory.CreateGauge("autonomic_instance_memory_bytes", "Resident memory of the instance's process (last sample).", ["service", "instance_id"]);
        _cpu = Factory.CreateGauge("autonomic_instance_cpu_cores", "CPU cores the instance's process used over the last sample interval.", ["service", "instance_id"]);
        TaskQueueDepth = Factory.CreateGauge("autonomic_task_queue_depth", "Tasks queued and not yet running (set by the task agent).");
        TaskOldestAge = Factory.CreateGauge("autonomic_task_oldest_age_seconds", "Age of the oldest queued task (set by the task agent).");
        SecurityBlocksActive = Factory.CreateGauge("autonomic_security_blocks_active", "Sources blocked right now (set by the security agent).");
        SecurityRateLimitsActive = Factory.CreateGauge("autonomic_security_rate_limits_active", "Clients rate-limited right now by the security agent.");
        SecurityQuarantinesActive = Factory.CreateGauge("autonomic_security_quarantines_active", "Instances quarantined right now (out of the load balancer, kept running).");
        Registry.AddBeforeCollectCallback(ReadBus);
    }

    /// <summary>The registry this process's /metrics exports.</summary>
    public CollectorRegistry Registry { get; }

    /// <summary>Tasks waiting in the work queue; the task agent keeps it current.</summary>
    public Gauge TaskQueueDepth { get; }

    /// <summary>Seconds the oldest queued task has waited; the task agent keeps it current.</summary>
    public Gauge TaskOldestAge { get; }

    /// <summary>Blocks in force; the security agent keeps it current.</summary>
    public Gauge SecurityBlocksActive { get; }

    /// <summary>Client rate limits in force in this process.</summary>
    public Gauge SecurityRateLimitsActive { get; }

    /// <summary>Quarantined instances in force in this process.</summary>
    public Gauge SecurityQuarantinesActive { get; }

    /// <summary>Makes metrics on <see cref="Registry"/>.</summary>
    public IMetricFactory Factory { get; }

    private readonly List<Action<System.Text.StringBuilder>> _textSources = [];

    /// <summary>
    /// Adds a component that writes its own families in the text format (HELP and TYPE lines included), such as the
    /// load balancer's request counters and latency histograms; they follow this registry's in every export.
    /// </summary>
    public void AddTextSource(Action<System.Text.StringBuilder> write)
    {
        lock (_textSources)
        {
            _textSources.Add(write);
        }
    }

    /// <summary>Writes every metric of this registry, then those of the text sources, in the Prometheus text format.</summary>
    public async Task ExportAsync(Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        await Registry.CollectAndExportAsTextAsync(output, cancellationToken).ConfigureAwait(false);
        var text = new System.Text.StringBuilder();
        lock (_textSources)
        {
            foreach (var write in _textSources)
            {
                write(text);
            }
        }

        if (text.Length > 0)
        {
            var bytes = System.Text.Encoding.UTF8.GetBytes(text.ToString());
            await output.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var subscription = _bus.Subscribe("#", $"metrics-{Guid.NewGuid():N}", OnEventAsync, new SubscriptionOptions { Transient = true, MaxAttempts = 1 });
        try
        {
            await Task.Delay(Timeout.Infinite, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void ReadBus()
    {
        if (_bus is not IBusStatistics stats)
        {
            return;
        }

        _busBuffered.Set(stats.BufferedPublishes);
        var backlog = stats.GroupBacklog();
        foreach (var labels in _busBacklog.GetAllLabelValues().ToList())
        {
            if (!backlog.ContainsKey(labels[0]))
            {
                _busBacklog.RemoveLabelled(labels);
            }
        }

        foreach (var (group, depth) in backlog)
        {
            _busBacklog.WithLabels(group).Set(depth);
        }
    }

    /// <summary>Updates the metrics an event bears on. Public so tests and in-process hosts can feed events directly.</summary>
    public async Task OnEventAsync(CloudEvent evt, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(evt);
        _events.WithLabels(evt.Type).Inc();
        try
        {
            await RecordAsync(evt, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException or FormatException)
        {
            // A malformed event costs its metric, never the subscription.
            LogBadEvent(evt.Type, evt.Id, ex.Message);
        }
    }

    private async Task RecordAsync(CloudEvent evt, CancellationToken ct)
    {
        var data = evt.Data is { ValueKind: JsonValueKind.Object } d ? d : default;
        switch (evt.Type)
        {
            case EventTypes.IncidentOpened or EventTypes.IncidentUpdated when Text(data, "incidentId") is { } id:
                if (await _store.GetIncidentAsync(id, ct).ConfigureAwait(false) is not { } incident)
                {
                    return;
                }

                if (evt.Type == EventTypes.IncidentOpened)
                {
                    _incidents.WithLabels(incident.Service, incident.Cause).Inc();
                    _timeToDetect.WithLabels(incident.Service, incident.Cause).Observe(incident.TimeToDetect.TotalSeconds);
                }

                if (incident.TimeToMitigate is { } ttm && Remember(incident.Id))
                {
                    _timeToMitigate.WithLabels(incident.Service, incident.Cause).Observe(ttm.TotalSeconds);
                }

                break;
            case EventTypes.MetricSample when Text(data, "instanceId") is { } instance:
                var owner = _instances?.Get(instance)?.Record.Service ?? "";
                _memory.WithLabels(owner, instance).Set(Number(data, "rssBytes") ?? 0);
                _cpu.WithLabels(owner, instance).Set(Number(data, "cpuCores") ?? 0);
                break;
            case EventTypes.InstanceStateChanged when Text(data, "to") == "removed" && Text(data, "instanceId") is { } removed:
                foreach (var gauge in new[] { _memory, _cpu })
                {
                    foreach (var labels in gauge.GetAllLabelValues().Where(l => l[1] == removed).ToList())
                    {
                        gauge.RemoveLabelled(labels);
                    }
                }

                break;
            case EventTypes.ActionRecorded:
                _actions.WithLabels(AgentOf(evt.Source), Text(data, "kind") ?? "unknown", Text(data, "status") ?? "unknown").Inc();
                break;
            case EventTypes.ScaleDecided when Text(data, "service") is { } service:
                var from = Number(data, "from");
                var to = Number(data, "to");
                var direction = from is null || to is null ? "none" : to > from ? "up" : to < from ? "down" : "none";
                _scaling.WithLabels(service, Text(data, "policy") ?? "unknown", direction).Inc();
                if (to is { } wanted)
                {
                    _scalingDesired.WithLabels(service).Set(wanted);
                }

                break;
            case EventTypes.SecurityAlert:
                _securityAlerts.WithLabels(Text(data, "rule") ?? Text(data, "kind") ?? "unknown").Inc();
                break;
            case EventTypes.SecurityResponse:
                _securityResponses.WithLabels(Text(data, "action") ?? Text(data, "kind") ?? "unknown").Inc();
                break;
            case EventTypes.AlertFiring or EventTypes.AlertResolved:
                _externalAlerts.WithLabels(Text(data, "alertname") ?? "unknown", evt.Type == EventTypes.AlertFiring ? "firing" : "resolved").Inc();
                break;
            case EventTypes.TrafficSample when Text(data, "service") is { } service:
                _lbRate.WithLabels(service).Set(Number(data, "requestsPerSecond") ?? 0);
                _lbLatencyP95.WithLabels(service).Set((Number(data, "latencyMsP95") ?? 0) / 1000);
                _lbErrorRatio.WithLabels(service).Set(Number(data, "errorRate") ?? 0);
                _lbInFlight.WithLabels(service).Set(Number(data, "inFlight") ?? 0);
                break;
            case var type when type.StartsWith(EventTypes.TaskPrefix, StringComparison.Ordinal) && type.Length > EventTypes.TaskPrefix.Length && !type.EndsWith(".work", StringComparison.Ordinal):
                _tasks.WithLabels(type[EventTypes.TaskPrefix.Length..]).Inc();
                break;
        }
    }

    // Each incident's time to mitigate is observed once; the memory of which were is bounded.
    private bool Remember(string incidentId)
    {
        if (!_mitigated.Add(incidentId))
        {
            return false;
        }

        _mitigatedOrder.Enqueue(incidentId);
        if (_mitigatedOrder.Count > 10_000)
        {
            _mitigated.Remove(_mitigatedOrder.Dequeue());
        }

        return true;
    }

    private static string AgentOf(string source) => source.StartsWith("/agents/", StringComparison.Ordinal) ? source["/agents/".Length..] : source.TrimStart('/');

    private static string? Text(JsonElement data, string name) =>
        data.ValueKind == JsonValueKind.Object && data.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.String => v.GetString(),
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => v.ToString(),
            _ => null,
        } : null;

    private static double? Number(JsonElement data, string name) =>
        data.ValueKind == JsonValueKind.Object && data.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetDouble() : null;

    [LoggerMessage(Level = LogLevel.Debug, Message = "metrics skipped {Type} event {EventId}: {Error}")]
    private partial void LogBadEvent(string type, string eventId, string error);
}
