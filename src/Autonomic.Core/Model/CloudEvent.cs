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
}
