using Autonomic.Core.Model;

namespace Autonomic.Backends.Store;

/// <summary>A stored service spec: the whole <see cref="Core.Specs.ServiceSpec"/> as JSON, keyed by name.</summary>
public sealed class ServiceRow
{
    public string Name { get; set; } = "";
    public string SpecJson { get; set; } = "";
}

/// <summary>A stored <see cref="InstanceRecord"/>, one column per field.</summary>
public sealed class InstanceRow
{
    public string Id { get; set; } = "";
    public string Service { get; set; } = "";
    public int Index { get; set; }
    public InstanceState State { get; set; }
    public int? Pid { get; set; }
    public long? StartTicks { get; set; }
    public int? Port { get; set; }
    public DateTimeOffset? StartedAt { get; set; }
    public DateTimeOffset? ReadySince { get; set; }
    public int Restarts { get; set; }
    public string? Reason { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
    public long Fence { get; set; }
}

/// <summary>
/// A stored <see cref="CloudEvent"/>. Rows are only ever inserted; <see cref="Seq"/> records the order of
/// insertion and <see cref="Id"/> is unique.
/// </summary>
public sealed class EventRow
{
    public long Seq { get; set; }
    public string Id { get; set; } = "";
    public string Source { get; set; } = "";
    public string Type { get; set; } = "";
    public DateTimeOffset Time { get; set; }
    public string? Subject { get; set; }
    public string? DataJson { get; set; }
}

/// <summary>A stored <see cref="Incident"/>; evidence and action ids as JSON text.</summary>
public sealed class IncidentRow
{
    public string Id { get; set; } = "";
    public string Service { get; set; } = "";
    public string? InstanceId { get; set; }
    public string Cause { get; set; } = "";
    public IncidentStatus Status { get; set; }
    public string? Summary { get; set; }
    public DateTimeOffset FailedAt { get; set; }
    public DateTimeOffset DetectedAt { get; set; }
    public DateTimeOffset? MitigatedAt { get; set; }
    public DateTimeOffset? ResolvedAt { get; set; }
    public bool NeedsHuman { get; set; }
    public string EvidenceJson { get; set; } = "{}";
    public string ActionIdsJson { get; set; } = "[]";
}

/// <summary>A stored <see cref="AgentAction"/>; evidence as JSON text.</summary>
public sealed class ActionRow
{
    public string Id { get; set; } = "";
    public string Agent { get; set; } = "";
    public string Kind { get; set; } = "";
    public string Subject { get; set; } = "";
    public string Reason { get; set; } = "";
    public string Rule { get; set; } = "";
    public string EvidenceJson { get; set; } = "{}";
    public ActionStatus Status { get; set; }
    public string? Outcome { get; set; }
    public string? IncidentId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
}

/// <summary>A stored JSON document of an <see cref="Core.Abstractions.IDocumentStore"/> collection; key (Collection, Id).</summary>
public sealed class DocumentRow
{
    public string Collection { get; set; } = "";
    public string Id { get; set; } = "";
    public string Json { get; set; } = "";
    public long Version { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}
