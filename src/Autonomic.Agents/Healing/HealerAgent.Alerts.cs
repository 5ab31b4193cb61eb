using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json;
using Autonomic.Core.Model;
using Autonomic.Core.Policies;
using Microsoft.Extensions.Logging;

namespace Autonomic.Agents.Healing;

/// <summary>
/// Remediation of external alerts (Prometheus rules through Alertmanager's webhook, <c>alert.firing</c>): an alert
/// whose labels name an instance (<c>autonomic_instance</c>, <c>instance_id</c>, <c>exported_instance</c> or
/// <c>instance</c>) or a service (<c>autonomic_service</c>, <c>service</c>) is handled like a degraded instance:
/// an incident with the alert as evidence, then a graceful replacement, one replica at a time
/// (<c>autonomic_action: replace</c>, the default), or a kill and restart (<c>autonomic_action: restart</c>).
/// <c>autonomic_action: none</c> records nothing. Alertmanager repeats notifications: one alert (fingerprint and
/// start) is acted on once.
/// </summary>
public sealed partial class HealerAgent
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _alertsActedOn = new(StringComparer.Ordinal);

    private sealed record AlertData(string Alertname, string Status, Dictionary<string, string>? Labels, Dictionary<string, string>? Annotations, DateTimeOffset? StartsAt, string? Fingerprint);

    private Task OnAlertAsync(CloudEvent evt, CancellationToken ct)
    {
        AlertData? alert;
        try
        {
            alert = evt.Data?.Deserialize<AlertData>(JsonDefaults.Options);
        }
        catch (JsonException ex)
        {
            LogBadCommand(evt.Type, evt.Id, ex.Message);
            return Task.CompletedTask;
        }

        if (alert is null)
        {
            return Task.CompletedTask;
        }

        var labels = alert.Labels ?? [];
        var action = labels.GetValueOrDefault("autonomic_action", "replace");
        if (action == "none")
        {
            return Task.CompletedTask;
        }

        var key = $"{alert.Fingerprint ?? alert.Alertname + string.Join(',', labels.OrderBy(l => l.Key, StringComparer.Ordinal))}|{alert.StartsAt:O}";
        var now = time.GetUtcNow();
        if (!_alertsActedOn.TryAdd(key, now))
        {
            return Task.CompletedTask;
        }

        foreach (var (old, at) in _alertsActedOn)
        {
            if (now - at > TimeSpan.FromHours(1))
            {
                _alertsActedOn.TryRemove(old, out _);
            }
        }

        var detail = alert.Annotations?.GetValueOrDefault("summary") ?? alert.Annotations?.GetValueOrDefault("description") ?? $"alert {alert.Alertname} is firing";
        var evidence = new Dictionary<string, string>
        {
            ["alertname"] = alert.Alertname,
            ["alert_labels"] = string.Join(',', labels.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}")),
            ["alert_started"] = alert.StartsAt?.ToString("O", CultureInfo.InvariantCulture) ?? "",
            ["event_id"] = evt.Id,
        };
        Observation observation = action == "restart"
            ? new Observation.Failed("alert", $"{alert.Alertname}: {detail}", alert.StartsAt ?? evt.Time)
            : new Observation.Degraded("alert", $"{alert.Alertname}: {detail}");

        // Instance labels first; a service label means every instance of the service (replaced one at a time).
        var instance = new[] { "autonomic_instance", "instance_id", "exported_instance", "instance" }
            .Select(labels.GetValueOrDefault).FirstOrDefault(id => id is not null && registry.Get(id) is not null);
        if (instance is not null)
        {
            Post(instance, observation, null, evidence);
            return Task.CompletedTask;
        }

        var service = labels.GetValueOrDefault("autonomic_service") ?? labels.GetValueOrDefault("service");
        var targets = service is null ? [] : registry.Snapshot().Where(i => i.Record.Service == service).Select(i => i.Record.Id).ToList();
        if (targets.Count == 0)
        {
            LogAlertWithoutTarget(alert.Alertname, evidence["alert_labels"]);
        }

        foreach (var id in targets)
        {
            Post(id, observation, null, evidence);
        }

        return Task.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "alert {Alertname} names no instance or service of this fleet ({Labels}); nothing to do")]
    private partial void LogAlertWithoutTarget(string alertname, string labels);
}
