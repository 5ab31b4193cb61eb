using System.Text.Json;

namespace Autonomic.Core.Model;

/// <summary>
/// An event on the bus, with CloudEvents attribute names. <see cref="Id"/> is unique per event and is
/// what handlers deduplicate on (delivery is at-least-once).
/// </summary>
public sealed record CloudEvent
{
    public required string Id { get; init; }
    /// <summary>Who emitted it, e.g. <c>/agents/healer</c>.</summary>
    public required string Source { get; init; }
    /// <summary>Dotted type, e.g. <c>instance.exited</c>; topics match on it.</summary>
    public required string Type { get; init; }
    public required DateTimeOffset Time { get; init; }
    /// <summary>What it is about, e.g. an instance id <c>web-0</c>.</summary>
    public string? Subject { get; init; }
    public JsonElement? Data { get; init; }

    /// <summary>Makes an event with a fresh id.</summary>
    public static CloudEvent Create(string source, string type, string? subject, DateTimeOffset time, object? data = null) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Source = source,
        Type = type,
        Subject = subject,
        Time = time,
        Data = data is null ? null : JsonSerializer.SerializeToElement(data, data.GetType(), JsonDefaults.Options),
    };
}

/// <summary>The JSON conventions used on the wire and in the store.</summary>
public static class JsonDefaults
{
    /// <summary>camelCase, enums as strings, nulls omitted.</summary>
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}

/// <summary>Event type names.</summary>
public static class EventTypes
{
    public const string InstanceStarted = "instance.started";
    public const string InstanceExited = "instance.exited";
    public const string InstanceStateChanged = "instance.state_changed";
    public const string ProbeFailed = "probe.failed";
    public const string ProbeSucceeded = "probe.succeeded";
    public const string MetricSample = "metric.sample";
    public const string AnomalyDetected = "anomaly.detected";
    public const string IncidentOpened = "incident.opened";
    public const string IncidentUpdated = "incident.updated";
    public const string ActionRecorded = "action.recorded";

    // Desired state commands, applied by the healer. Data: ServiceSpec (apply) or ServiceCommand (the others).
    public const string ServiceApply = "service.apply";
    public const string ServiceDelete = "service.delete";
    public const string ServiceScale = "service.scale";
    public const string ServiceRestart = "service.restart";

    /// <summary>Someone (e.g. the task agent) asks the scaling agent for capacity. Data: ScaleRequest.</summary>
    public const string ScaleRequested = "scale.requested";
    /// <summary>The scaling agent decided a replica count. Data: the decision with its inputs and reason.</summary>
    public const string ScaleDecided = "scale.decided";

    /// <summary>Task lifecycle (task.queued, task.running, task.succeeded, task.failed, task.cancelled).</summary>
    public const string TaskPrefix = "task.";

    /// <summary>Per-service traffic numbers from the load balancer. Data: TrafficSample.</summary>
    public const string TrafficSample = "traffic.sample";

    /// <summary>Security: an alert (detection) and a response (block, suspend, rate-limit, quarantine, and their end).</summary>
    public const string SecurityAlert = "security.alert";
    public const string SecurityResponse = "security.response";

    /// <summary>Gateway access and auth events (one per request): the security agent's input.</summary>
    public const string GatewayAccess = "gateway.access";

    /// <summary>An external alert (Alertmanager webhook) turned into an event the agents act on.</summary>
    public const string AlertFiring = "alert.firing";
    public const string AlertResolved = "alert.resolved";
}

/// <summary>Data of <see cref="EventTypes.ServiceScale"/>, <see cref="EventTypes.ServiceDelete"/> and <see cref="EventTypes.ServiceRestart"/>.</summary>
public sealed record ServiceCommand(string Service, int? Replicas = null, string? Reason = null, string? RequestedBy = null);

/// <summary>Data of <see cref="EventTypes.ScaleRequested"/>: who needs capacity and why.</summary>
public sealed record ScaleRequest(string Service, string Reason, int? QueueDepth = null, double? OldestAgeSeconds = null, int? MinReplicas = null);
