using System.Text.Json;
using Autonomic.Agents.Optimization;
using Autonomic.Agents.Scaling;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Scaling;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Autonomic.Gateway.Scaling;

/// <summary>
/// <c>GET /api/v1/scaling</c> (the last scaling decision per service with its reason and inputs) and
/// <c>GET /api/v1/cost</c> (the optimization agent's cost report). Both read the agents of this process when they
/// run here, else what the agents stored: the scaler's actions and the optimizer's report document.
/// </summary>
public static class ScalingEndpoints
{
    private const int ActionScan = 2_000;

    public static RouteGroupBuilder MapScalingApi(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapGet("/scaling", GetScalingAsync).RequireAuthorization(AuthPolicies.Viewer);
        api.MapGet("/cost", GetCostAsync).RequireAuthorization(AuthPolicies.Viewer);
        return api;
    }

    private static async Task<IResult> GetScalingAsync(HttpContext http, CancellationToken ct)
    {
        if (http.RequestServices.GetService<ScalingAgent>() is { } agent)
        {
            return Results.Json(agent.LastDecisions().Select(d => View(d.Service, d.From, d.To, d.Policy, d.Reason, d.At, d.Inputs, applied: d.Changes)), JsonDefaults.Options);
        }

        // Another process scales: its changes are in the audit trail.
        var store = http.RequestServices.GetRequiredService<IStateStore>();
        var actions = await store.ListActionsAsync(ActionScan, null, ct);
        var latest = actions
            .Where(a => a.Agent == ScalingAgent.Agent)
            .GroupBy(a => a.Subject, StringComparer.Ordinal)
            .Select(g => g.OrderByDescending(a => a.CreatedAt).First())
            .OrderBy(a => a.Subject, StringComparer.Ordinal)
            .Select(a => View(
                a.Subject,
                Parse(a.Evidence, "current_replicas"),
                ParseTo(a.Reason),
                a.Rule.StartsWith("scaling.", StringComparison.Ordinal) ? a.Rule["scaling.".Length..] : a.Rule,
                a.Reason,
                a.CreatedAt,
                a.Evidence,
                applied: a.Status == ActionStatus.Succeeded));
        return Results.Json(latest, JsonDefaults.Options);
    }

    private static async Task<IResult> GetCostAsync(HttpContext http, CancellationToken ct)
    {
        if (http.RequestServices.GetService<OptimizerAgent>() is { } agent)
        {
            return Results.Json(agent.CurrentReport ?? await agent.RunOnceAsync(ct), JsonDefaults.Options);
        }

        if (http.RequestServices.GetService<IDocumentStore>() is { } documents
            && await documents.GetDocumentAsync(OptimizerAgent.ReportCollection, OptimizerAgent.ReportId, ct) is { } doc)
        {
            return Results.Json(JsonSerializer.Deserialize<CostReport>(doc.Json, JsonDefaults.Options), JsonDefaults.Options);
        }

        return Results.Problem(
            statusCode: StatusCodes.Status404NotFound,
            title: "no cost report",
            detail: "the optimizer is not running (start the control plane with the optimizer role) and no report is stored yet");
    }

    private static object View(string service, int from, int to, string policy, string reason, DateTimeOffset at, IReadOnlyDictionary<string, string> inputs, bool applied) =>
        new { service, from, to, policy, reason, at, applied, inputs };

    private static int Parse(IReadOnlyDictionary<string, string> evidence, string key) =>
        evidence.TryGetValue(key, out var v) && int.TryParse(v, System.Globalization.CultureInfo.InvariantCulture, out int n) ? n : 0;

    /// <summary>The scaler writes its reasons as "FROM -> TO replicas: ...".</summary>
    private static int ParseTo(string reason)
    {
        int arrow = reason.IndexOf("-> ", StringComparison.Ordinal);
        if (arrow < 0)
        {
            return 0;
        }

        var rest = reason[(arrow + 3)..];
        int space = rest.IndexOf(' ', StringComparison.Ordinal);
        return int.TryParse(space < 0 ? rest : rest[..space], System.Globalization.CultureInfo.InvariantCulture, out int n) ? n : 0;
    }
}
