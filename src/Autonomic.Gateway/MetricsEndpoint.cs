using System.Globalization;
using System.Text;
using Autonomic.Agents.Telemetry;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;

namespace Autonomic.Gateway;

/// <summary>
/// The fleet as Prometheus metrics (text exposition format 0.0.4), computed from the store on each scrape:
/// instance states, readiness and restarts, open and total incidents, and the time to detect and to mitigate of
/// the latest incidents.
/// </summary>
public static class MetricsEndpoint
{
    /// <summary>The content type Prometheus expects for the text format.</summary>
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private const int IncidentWindow = 1000;

    /// <summary>Renders the fleet's metrics from the store, followed by this process's own (<paramref name="process"/>).</summary>
    public static async Task<string> RenderAsync(IStateStore store, FleetMetrics? process, CancellationToken ct)
    {
        var fleet = await RenderAsync(store, ct).ConfigureAwait(false);
        return process is null ? fleet : fleet + await RenderAsync(process, ct).ConfigureAwait(false);
    }

    /// <summary>The metrics of one process's registry in the text format.</summary>
    public static async Task<string> RenderAsync(FleetMetrics process, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(process);
        using var buffer = new MemoryStream();
        await process.ExportAsync(buffer, ct).ConfigureAwait(false);
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>Renders the metrics text.</summary>
    public static async Task<string> RenderAsync(IStateStore store, CancellationToken ct)
    {
        var instances = await store.ListInstancesAsync(ct).ConfigureAwait(false);
        var incidents = await store.ListIncidentsAsync(IncidentWindow, ct).ConfigureAwait(false);
        var text = new StringBuilder();

        Header(text, "autonomic_instances", "gauge", "Instances by service and state.");
        foreach (var g in instances.GroupBy(i => (i.Service, i.State)).OrderBy(g => g.Key.Service, StringComparer.Ordinal).ThenBy(g => g.Key.State))
        {
            Sample(text, "autonomic_instances", [("service", g.Key.Service), ("state", State(g.Key.State))], g.Count());
        }

        Header(text, "autonomic_instance_ready", "gauge", "1 when the instance is ready (gets traffic), else 0.");
        foreach (var i in instances)
        {
            Sample(text, "autonomic_instance_ready", [("service", i.Service), ("instance_id", i.Id)], i.State == InstanceState.Ready ? 1 : 0);
        }

        Header(text, "autonomic_instance_restarts_total", "counter", "Restarts of the instance since it was created.");
        foreach (var i in instances)
        {
            Sample(text, "autonomic_instance_restarts_total", [("service", i.Service), ("instance_id", i.Id)], i.Restarts);
        }

        var specs = await store.ListServicesAsync(ct).ConfigureAwait(false);
        Header(text, "autonomic_service_replicas_desired", "gauge", "Replicas the service should have (desired state).");
        foreach (var spec in specs.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            Sample(text, "autonomic_service_replicas_desired", [("service", spec.Name)], spec.Replicas);
        }

        Header(text, "autonomic_service_replicas_ready", "gauge", "Replicas of the service that are ready (get traffic).");
        foreach (var spec in specs.OrderBy(s => s.Name, StringComparer.Ordinal))
        {
            Sample(text, "autonomic_service_replicas_ready", [("service", spec.Name)], instances.Count(i => i.Service == spec.Name && i.State == InstanceState.Ready));
        }

        Header(text, "autonomic_incidents_open", "gauge", "Incidents not yet mitigated or resolved (open or escalated to a human).");
        foreach (var g in incidents.Where(i => i.Status is IncidentStatus.Open or IncidentStatus.Escalated).GroupBy(i => i.Service).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            Sample(text, "autonomic_incidents_open", [("service", g.Key)], g.Count());
        }

        Header(text, "autonomic_incidents_total", "counter", $"Incidents by service and cause (the latest {IncidentWindow}).");
        foreach (var g in incidents.GroupBy(i => (i.Service, i.Cause)).OrderBy(g => g.Key.Service, StringComparer.Ordinal).ThenBy(g => g.Key.Cause, StringComparer.Ordinal))
        {
            Sample(text, "autonomic_incidents_total", [("service", g.Key.Service), ("cause", g.Key.Cause)], g.Count());
        }

        var latest = incidents.GroupBy(i => i.Service).Select(g => g.First()).OrderBy(i => i.Service, StringComparer.Ordinal).ToList();
        Header(text, "autonomic_last_incident_time_to_detect_seconds", "gauge", "Time to detect of the service's latest incident.");
        foreach (var i in latest)
        {
            Sample(text, "autonomic_last_incident_time_to_detect_seconds", [("service", i.Service), ("cause", i.Cause)], i.TimeToDetect.TotalSeconds);
        }

        Header(text, "autonomic_last_incident_time_to_mitigate_seconds", "gauge", "Time to mitigate of the service's latest mitigated incident.");
        foreach (var i in latest.Where(i => i.TimeToMitigate is not null))
        {
            Sample(text, "autonomic_last_incident_time_to_mitigate_seconds", [("service", i.Service), ("cause", i.Cause)], i.TimeToMitigate!.Value.TotalSeconds);
        }

        return text.ToString();
    }

    private static string State(InstanceState s) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(s.ToString());

    private static void Header(StringBuilder text, string name, string type, string help) =>
        text.Append("# HELP ").Append(name).Append(' ').Append(help).Append('\n')
            .Append("# TYPE ").Append(name).Append(' ').Append(type).Append('\n');

    private static void Sample(StringBuilder text, string name, (string Key, string Value)[] labels, double value)
    {
        text.Append(name).Append('{');
        for (var i = 0; i < labels.Length; i++)
        {
            text.Append(i == 0 ? "" : ",").Append(labels[i].Key).Append("=\"").Append(Escape(labels[i].Value)).Append('"');
        }

        text.Append("} ").Append(value.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
    }

    // The exposition format escapes backslash, double quote and newline in label values.
    private static string Escape(string v) => v.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
