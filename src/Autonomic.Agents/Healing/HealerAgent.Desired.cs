using System.Globalization;
using System.Text.Json;
using Autonomic.Agents.Fleet;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Policies;
using Autonomic.Core.Specs;
using Microsoft.Extensions.Logging;

namespace Autonomic.Agents.Healing;

/// <summary>
/// Desired-state changes at run time: services created, updated, scaled, restarted and deleted through
/// <c>service.*</c> commands on the bus. Every healer keeps the same desired state (and, when its store also keeps
/// documents, writes it to the <see cref="DesiredCollection"/> so it survives a restart); only a service's lease
/// holder starts and stops its processes. A scale-down drains and stops the highest-numbered instances; updates and
/// restarts replace instances one at a time, never the last ready one.
/// </summary>
public sealed partial class HealerAgent
{
    /// <summary>Document collection of the desired state changed through the API, one document per service.</summary>
    public const string DesiredCollection = "desired_services";

    /// <summary>
    /// Waits until an instance's in-flight requests have finished (instance id, longest wait); set by the host to the
    /// load balancer's drain. Called after the instance has left READY and before it is sent SIGTERM.
    /// </summary>
    public Func<string, TimeSpan, CancellationToken, Task>? Drain { get; set; }

    /// <summary>
    /// Instances the security agent quarantined: the healer does not replace them for a degradation (they stay as they
    /// are for forensics; a crash is still restarted). The host sets it where responses are enforced.
    /// </summary>
    public IQuarantine? Quarantine { get; set; }

    private sealed record DesiredChange(string Kind, ServiceSpec? Spec, ServiceCommand? Command, string EventId);

    /// <summary>What is kept per service in <see cref="DesiredCollection"/>.</summary>
    private sealed record DesiredService(string Name, bool Deleted, ServiceSpec? Spec);

    private Task OnServiceCommandAsync(CloudEvent evt, CancellationToken ct)
    {
        DesiredChange? change = null;
        try
        {
            change = evt.Type switch
            {
                EventTypes.ServiceApply => evt.Data?.Deserialize<ServiceSpec>(JsonDefaults.Options) is { } spec ? new DesiredChange(evt.Type, spec, null, evt.Id) : null,
                EventTypes.ServiceScale or EventTypes.ServiceDelete or EventTypes.ServiceRestart =>
                    evt.Data?.Deserialize<ServiceCommand>(JsonDefaults.Options) is { } cmd ? new DesiredChange(evt.Type, null, cmd, evt.Id) : null,
                _ => null,
            };
        }
        catch (JsonException ex)
        {
            LogBadCommand(evt.Type, evt.Id, ex.Message);
        }

        if (change is not null)
        {
            _inbox.Writer.TryWrite(new Message(null, new Observation.Tick(), null, null, change));
        }

        return Task.CompletedTask;
    }

    /// <summary>Applies the changes an earlier control plane accepted: they win over the fleet file.</summary>
    private async Task LoadDesiredChangesAsync(CancellationToken ct)
    {
        if (store is not IDocumentStore documents)
        {
            return;
        }

        foreach (var doc in await documents.ListDocumentsAsync(DesiredCollection, 10_000, ct).ConfigureAwait(false))
        {
            var desired = JsonSerializer.Deserialize<DesiredService>(doc.Json, JsonDefaults.Options);
            if (desired is null)
            {
                continue;
            }

            if (desired.Deleted)
            {
                _services.Remove(desired.Name);
                await store.DeleteServiceAsync(desired.Name, ct).ConfigureAwait(false);
            }
            else if (desired.Spec is { } spec)
            {
                _services[spec.Name] = spec;
            }
        }
    }

    private async Task ChangeDesiredStateAsync(DesiredChange change, CancellationToken ct)
    {
        var name = change.Spec?.Name ?? change.Command!.Service;
        var by = change.Command?.RequestedBy ?? "api";
        var evidence = new Dictionary<string, string> { ["event_id"] = change.EventId, ["requested_by"] = by };
        if (change.Command?.Reason is { Length: > 0 } why)
        {
            evidence["reason"] = why;
        }

        switch (change.Kind)
        {
            case EventTypes.ServiceApply:
                await ApplySpecAsync(change.Spec!, evidence, ct).ConfigureAwait(false);
                break;
            case EventTypes.ServiceScale when _services.TryGetValue(name, out var current) && change.Command!.Replicas is { } replicas and >= 0:
                if (replicas != current.Replicas)
                {
                    evidence["from"] = current.Replicas.ToString(CultureInfo.InvariantCulture);
                    evidence["to"] = replicas.ToString(CultureInfo.InvariantCulture);
                    await ApplySpecAsync(current with { Replicas = replicas }, evidence, ct).ConfigureAwait(false);
                }

                break;
            case EventTypes.ServiceRestart when _services.ContainsKey(name):
                foreach (var slot in _slots.Values.Where(s => s.Spec.Name == name && !s.Retiring))
                {
                    Post(slot.Id, slot.Life.State is InstanceState.Fatal or InstanceState.Stopped
                        ? new Observation.ResetRequested()
                        : new Observation.ReplaceRequested($"restart requested by {by}"), null, evidence);
                }

                await RecordServiceAsync(name, "service.restart", "desired.restart", $"restart requested by {by}", "instances replaced one at a time", evidence, ct).ConfigureAwait(false);
                break;
            case EventTypes.ServiceDelete when _services.ContainsKey(name):
                _deleting.Add(name);
                await SaveDesiredAsync(new DesiredService(name, Deleted: true, null), ct).ConfigureAwait(false);
                await store.DeleteServiceAsync(name, ct).ConfigureAwait(false);
                await RecordServiceAsync(name, "service.delete", "desired.delete", $"service deleted by {by}", "instances drained and stopped", evidence, ct).ConfigureAwait(false);
                foreach (var slot in _slots.Values.Where(s => s.Spec.Name == name).ToList())
                {
                    await RetireOrStopAsync(slot, $"service {name} deleted", ct).ConfigureAwait(false);
                }

                await ForgetDeletedServiceAsync(name, ct).ConfigureAwait(false);
                break;
            default:
                LogIgnoredCommand(change.Kind, name);
                break;
        }
    }

    private async Task ApplySpecAsync(ServiceSpec spec, Dictionary<string, string> evidence, CancellationToken ct)
    {
        var name = spec.Name;
        var isNew = !_services.TryGetValue(name, out var old) || _deleting.Contains(name);
        var specChanged = old is not null && !SameBesidesReplicas(old, spec);
        _services[name] = spec;
        _deleting.Remove(name);
        await store.SaveServiceAsync(spec, ct).ConfigureAwait(false);
        await SaveDesiredAsync(new DesiredService(name, Deleted: false, spec), ct).ConfigureAwait(false);

        foreach (var slot in _slots.Values.Where(s => s.Spec.Name == name && !s.Retiring))
        {
            slot.Spec = spec;
            if (specChanged && slot.Index < spec.Replicas)
            {
                Post(slot.Id, new Observation.ReplaceRequested("spec changed"), null, evidence);
            }
        }

        // Grow: fresh slots (or a retiring one brought back); shrink: retire the highest-numbered.
        for (var index = 0; index < spec.Replicas; index++)
        {
            var id = spec.InstanceId(index);
            if (!_slots.TryGetValue(id, out var slot))
            {
                _slots[id] = new Slot(id, spec, index);
            }
            else if (slot.Retiring)
            {
                slot.Retiring = false;
                slot.Spec = spec;
                Post(id, new Observation.ResetRequested(), null, evidence);
            }
        }

        foreach (var slot in _slots.Values.Where(s => s.Spec.Name == name && s.Index >= spec.Replicas && !s.Retiring).ToList())
        {
            await RetireOrStopAsync(slot, $"scaled to {spec.Replicas} replicas", ct).ConfigureAwait(false);
        }

        var (kind, reason) = isNew ? ("service.create", "service created")
            : old!.Replicas != spec.Replicas && !specChanged ? ("service.scale", $"scaled from {old.Replicas} to {spec.Replicas} replicas")
            : ("service.update", specChanged ? "spec changed; instances replaced one at a time" : "spec saved unchanged");
        var by = evidence.GetValueOrDefault("requested_by", "api");
        await RecordServiceAsync(name, kind, $"desired.{kind["service.".Length..]}", $"{reason} (requested by {by})", $"{spec.Replicas} replicas wanted", evidence, ct).ConfigureAwait(false);
        if (isNew)
        {
            // Take the new service's lease now rather than at the next renewal.
            await RefreshLeasesAsync(ct).ConfigureAwait(false);
        }
    }

    /// <summary>A held, live instance is stopped (drained first) and removed when it has ended; any other is removed now.</summary>
    private async Task RetireOrStopAsync(Slot slot, string reason, CancellationToken ct)
    {
        slot.Retiring = true;
        if (_held.Contains(slot.Spec.Name) && InstanceStates.IsAlive(slot.Life.State) && slot.Handle is not null)
        {
            await ApplyAsync(slot, new Observation.StopRequested(reason), new Dictionary<string, string> { ["reason"] = reason }, ct).ConfigureAwait(false);
            return;
        }

        await RetireAsync(slot, ct).ConfigureAwait(false);
    }

    /// <summary>Forgets a retired instance: its slot, its live entry and its record.</summary>
    private async Task RetireAsync(Slot slot, CancellationToken ct)
    {
        _slots.Remove(slot.Id);
        // The record goes first: whoever sees the live view without the instance finds the store agreeing.
        if (!await store.DeleteInstanceAsync(slot.Id, FenceOf(slot.Spec.Name), ct).ConfigureAwait(false))
        {
            // A newer lease holder owns the record: leave it to that healer.
            return;
        }

        registry.Remove(slot.Id);
        await bus.PublishAsync(CloudEvent.Create(Source, EventTypes.InstanceStateChanged, slot.Id, time.GetUtcNow(),
            new { instanceId = slot.Id, from = slot.Life.State, to = "removed", reason = slot.Life.Reason }), ct).ConfigureAwait(false);
        await ForgetDeletedServiceAsync(slot.Spec.Name, ct).ConfigureAwait(false);
    }

    /// <summary>Once a deleted service has no instance left, its spec and lease go too.</summary>
    private async Task ForgetDeletedServiceAsync(string name, CancellationToken ct)
    {
        if (!_deleting.Contains(name) || _slots.Values.Any(s => s.Spec.Name == name))
        {
            return;
        }

        _deleting.Remove(name);
        _services.Remove(name);
        if (_held.Remove(name))
        {
            try
            {
                await leases.ReleaseAsync(LeaseKey(name), options.Owner, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or TimeoutException)
            {
                LogLeaseError(ex, name);
            }
        }
    }

    /// <summary>How long a stop waits for the instance's in-flight requests: the service's load balancer says, else the healer's default.</summary>
    private TimeSpan DrainTimeoutOf(ServiceSpec spec) => spec.LoadBalancer?.DrainTimeout ?? options.DrainTimeout;

    private async Task DrainThenStopAsync(string instanceId, IProcessHandle handle, TimeSpan grace, TimeSpan drainTimeout)
    {
        if (Drain is { } drain)
        {
            try
            {
                using var deadline = new CancellationTokenSource(drainTimeout, time);
                await drain(instanceId, drainTimeout, deadline.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // A drain that fails or overruns must not keep the instance alive: it is stopped anyway.
                LogDrainFailed(ex, instanceId);
            }
        }

        await runtime.StopAsync(handle, grace, CancellationToken.None).ConfigureAwait(false);
    }

    private async Task SaveDesiredAsync(DesiredService desired, CancellationToken ct)
    {
        if (store is IDocumentStore documents)
        {
            await documents.PutDocumentAsync(DesiredCollection, desired.Name, JsonSerializer.Serialize(desired, JsonDefaults.Options), null, ct).ConfigureAwait(false);
        }
    }

    private async Task RecordServiceAsync(string service, string kind, string rule, string reason, string outcome, IReadOnlyDictionary<string, string> evidence, CancellationToken ct)
    {
        var done = await _actions.DoneAsync(_actions.New(kind, service, rule, reason, evidence), ActionStatus.Succeeded, outcome, ct).ConfigureAwait(false);
        await _actions.AnnounceAsync(done, ct).ConfigureAwait(false);
    }

    private static bool SameBesidesReplicas(ServiceSpec a, ServiceSpec b) =>
        JsonSerializer.Serialize(a with { Replicas = b.Replicas }, JsonDefaults.Options) == JsonSerializer.Serialize(b, JsonDefaults.Options);

    [LoggerMessage(Level = LogLevel.Warning, Message = "ignored {Type} command {EventId}: {Error}")]
    private partial void LogBadCommand(string type, string eventId, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "ignored {Kind} for service {Service}: unknown service or nothing to do")]
    private partial void LogIgnoredCommand(string kind, string service);

    [LoggerMessage(Level = LogLevel.Warning, Message = "draining {InstanceId} failed; stopping it anyway")]
    private partial void LogDrainFailed(Exception ex, string instanceId);
}
