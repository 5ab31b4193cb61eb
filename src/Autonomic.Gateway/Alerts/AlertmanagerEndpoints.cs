using System.Text.Json;
using System.Text.Json.Serialization;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Autonomic.Gateway.Alerts;

/// <summary>One alert of an Alertmanager webhook notification, as the agents see it (data of <c>alert.firing|resolved</c>).</summary>
public sealed record ExternalAlert(
    string Alertname,
    string Status,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations,
    DateTimeOffset? StartsAt,
    string? Fingerprint,
    string? GeneratorUrl);

/// <summary>
/// <c>POST /api/v1/alerts/alertmanager</c>: Alertmanager's webhook (payload version 4). Each alert becomes an
/// <see cref="EventTypes.AlertFiring"/> or <see cref="EventTypes.AlertResolved"/> event on the bus, which the healer
/// acts on when its labels name an Autonomic instance or service (see docs/observability.md).
/// </summary>
public static class AlertmanagerEndpoints
{
    private const int MaxAlerts = 1000;

    private sealed record Notification(
        [property: JsonPropertyName("version")] string? Version,
        [property: JsonPropertyName("status")] string? Status,
        [property: JsonPropertyName("receiver")] string? Receiver,
        [property: JsonPropertyName("alerts")] IReadOnlyList<Alert>? Alerts);

    private sealed record Alert(
        [property: JsonPropertyName("status")] string? Status,
        [property: JsonPropertyName("labels")] Dictionary<string, string>? Labels,
        [property: JsonPropertyName("annotations")] Dictionary<string, string>? Annotations,
        [property: JsonPropertyName("startsAt")] DateTimeOffset? StartsAt,
        [property: JsonPropertyName("fingerprint")] string? Fingerprint,
        [property: JsonPropertyName("generatorURL")] string? GeneratorUrl);

    /// <summary>Maps the webhook; Alertmanager authenticates with an operator key (<c>http_config.authorization</c>).</summary>
    public static RouteGroupBuilder MapAlertmanagerApi(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapPost("/alerts/alertmanager", ReceiveAsync)
            .RequireAuthorization(AuthPolicies.Operator)
            .WithName("ReceiveAlertmanagerWebhook")
            .WithSummary("Alertmanager webhook: firing and resolved alerts become events the agents act on");
        return api;
    }

    private static async Task<IResult> ReceiveAsync(HttpRequest request, [FromServices] IEventBus bus, [FromServices] TimeProvider time, CancellationToken ct)
    {
        Notification? notification;
        try
        {
            notification = await JsonSerializer.DeserializeAsync<Notification>(request.Body, cancellationToken: ct);
        }
        catch (JsonException ex)
        {
            return Invalid($"the body is not an Alertmanager webhook notification: {ex.Message}");
        }

        if (notification?.Alerts is not { } alerts)
        {
            return Invalid("the body has no 'alerts' array (Alertmanager webhook payload version 4 expected)");
        }

        if (alerts.Count > MaxAlerts)
        {
            return Invalid($"at most {MaxAlerts} alerts per notification, got {alerts.Count}");
        }

        for (var i = 0; i < alerts.Count; i++)
        {
            if (alerts[i] is not { Status: "firing" or "resolved", Labels: { } labels } || !labels.TryGetValue("alertname", out var name) || string.IsNullOrWhiteSpace(name))
            {
                return Invalid($"alerts[{i}] needs a status of 'firing' or 'resolved' and labels with an 'alertname'");
            }
        }

        var now = time.GetUtcNow();
        foreach (var a in alerts)
        {
            var labels = a.Labels!;
            var alert = new ExternalAlert(labels["alertname"], a.Status!, labels, a.Annotations ?? [], a.StartsAt, a.Fingerprint, a.GeneratorUrl);
            var subject = labels.GetValueOrDefault("autonomic_instance") ?? labels.GetValueOrDefault("autonomic_service") ?? alert.Alertname;
            await bus.PublishAsync(CloudEvent.Create("/gateway/alertmanager", a.Status == "firing" ? EventTypes.AlertFiring : EventTypes.AlertResolved, subject, now, alert), ct);
        }

        return Results.Json(new { accepted = alerts.Count }, JsonDefaults.Options, statusCode: StatusCodes.Status202Accepted);
    }

    private static IResult Invalid(string detail) =>
        Results.Problem(statusCode: StatusCodes.Status422UnprocessableEntity, title: "invalid alert notification", detail: detail);
}
