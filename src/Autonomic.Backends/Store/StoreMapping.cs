using System.Text.Json;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;

namespace Autonomic.Backends.Store;

/// <summary>Converts between Core records and store rows; JSON columns use <see cref="JsonDefaults.Options"/>.</summary>
internal static class StoreMapping
{
    public static ServiceRow ToRow(ServiceSpec spec) => new()
    {
        Name = spec.Name,
        SpecJson = JsonSerializer.Serialize(spec, JsonDefaults.Options),
    };

    public static ServiceSpec ToSpec(ServiceRow row) =>
        JsonSerializer.Deserialize<ServiceSpec>(row.SpecJson, JsonDefaults.Options)
        ?? throw new InvalidDataException($"Stored spec of service '{row.Name}' is null.");

    public static InstanceRow ToRow(InstanceRecord r) => new()
    {
        Id = r.Id,
        Service = r.Service,
        Index = r.Index,
        State = r.State,
        Pid = r.Pid,
        StartTicks = r.StartTicks,
        Port = r.Port,
        StartedAt = r.StartedAt,
        ReadySince = r.ReadySince,
        Restarts = r.Restarts,
        Reason = r.Reason,
        UpdatedAt = r.UpdatedAt,
        Fence = r.Fence,
    };

    public static InstanceRecord ToRecord(InstanceRow r) => new()
    {
        Id = r.Id,
        Service = r.Service,
        Index = r.Index,
        State = r.State,
        Pid = r.Pid,
        StartTicks = r.StartTicks,
        Port = r.Port,
        StartedAt = r.StartedAt,
        ReadySince = r.ReadySince,
        Restarts = r.Restarts,
        Reason = r.Reason,
        UpdatedAt = r.UpdatedAt,
        Fence = r.Fence,
    };

    public static EventRow ToRow(CloudEvent e) => new()
    {
        Id = e.Id,
        Source = e.Source,
        Type = e.Type,
        Time = e.Time,
        Subject = e.Subject,
        DataJson = e.Data?.GetRawText(),
    };

    public static CloudEvent ToEvent(EventRow r) => new()
    {
        Id = r.Id,
        Source = r.Source,
        Type = r.Type,
        Time = r.Time,
        Subject = r.Subject,
        Data = r.DataJson is null ? null : JsonSerializer.Deserialize<JsonElement>(r.DataJson, JsonDefaults.Options),
    };

    public static IncidentRow ToRow(Incident i) => new()
    {
        Id = i.Id,
        Service = i.Service,
        InstanceId = i.InstanceId,
        Cause = i.Cause,
        Status = i.Status,
        Summary = i.Summary,
        FailedAt = i.FailedAt,
        DetectedAt = i.DetectedAt,
        MitigatedAt = i.MitigatedAt,
        ResolvedAt = i.ResolvedAt,
        NeedsHuman = i.NeedsHuman,
        EvidenceJson = JsonSerializer.Serialize(i.Evidence, JsonDefaults.Options),
        ActionIdsJson = JsonSerializer.Serialize(i.ActionIds, JsonDefaults.Options),
    };

    public static Incident ToIncident(IncidentRow r) => new()
    {
        Id = r.Id,
        Service = r.Service,
        InstanceId = r.InstanceId,
        Cause = r.Cause,
        Status = r.Status,
        Summary = r.Summary,
        FailedAt = r.FailedAt,
        DetectedAt = r.DetectedAt,
        MitigatedAt = r.MitigatedAt,
        ResolvedAt = r.ResolvedAt,
        NeedsHuman = r.NeedsHuman,
        Evidence = ReadDictionary(r.EvidenceJson),
        ActionIds = JsonSerializer.Deserialize<List<string>>(r.ActionIdsJson, JsonDefaults.Options) ?? [],
    };

    public static ActionRow ToRow(AgentAction a) => new()
    {
        Id = a.Id,
        Agent = a.Agent,
        Kind = a.Kind,
        Subject = a.Subject,
        Reason = a.Reason,
        Rule = a.Rule,
        EvidenceJson = JsonSerializer.Serialize(a.Evidence, JsonDefaults.Options),
        Status = a.Status,
        Outcome = a.Outcome,
        IncidentId = a.IncidentId,
        CreatedAt = a.CreatedAt,
        CompletedAt = a.CompletedAt,
    };

    public static AgentAction ToAction(ActionRow r) => new()
    {
        Id = r.Id,
        Agent = r.Agent,
        Kind = r.Kind,
        Subject = r.Subject,
        Reason = r.Reason,
        Rule = r.Rule,
        Evidence = ReadDictionary(r.EvidenceJson),
        Status = r.Status,
        Outcome = r.Outcome,
        IncidentId = r.IncidentId,
        CreatedAt = r.CreatedAt,
        CompletedAt = r.CompletedAt,
    };

    private static Dictionary<string, string> ReadDictionary(string json) =>
        JsonSerializer.Deserialize<Dictionary<string, string>>(json, JsonDefaults.Options) ?? [];
}
