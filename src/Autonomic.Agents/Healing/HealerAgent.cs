using System.Globalization;
using System.Text.Json;
using System.Threading.Channels;
using Autonomic.Agents.Fleet;
using Autonomic.Agents.Monitoring;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Policies;
using Autonomic.Core.Specs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Autonomic.Agents.Healing;

/// <summary>
/// The self-healing agent. It owns the instances of the fleet: one <see cref="Lifecycle"/> per instance, advanced
/// only by the pure <see cref="InstanceLifecycle.Next"/>, on a single loop (no locks on lifecycle state). Inputs are
/// process exits (the moment they happen), the monitor's probe verdicts and anomalies from the bus, and a tick.
/// Every directive becomes an <see cref="AgentAction"/> written as intent before it runs and completed after,
/// linked to an <see cref="Incident"/> that records time to detect and time to mitigate.
/// </summary>
public sealed partial class HealerAgent(
    FleetSpec fleet,
    IProcessRuntime runtime,
    IStateStore store,
    IEventBus bus,
    InstanceRegistry registry,
    ILeaseManager leases,
    IRateLimiter rateLimiter,
    TimeProvider time,
    HealerOptions options,
    ILogger<HealerAgent> logger) : BackgroundService
{
    private static readonly string Source = AgentNames.Source(AgentNames.Healer);
    private readonly ActionRecorder _actions = new(store, time, AgentNames.Healer, bus);
    private readonly Channel<Message> _inbox = Channel.CreateUnbounded<Message>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _adopted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly HashSet<string> _held = new(StringComparer.Ordinal);
    // The lease (fencing) token of each held service: every instance record this healer writes carries it.
    private readonly Dictionary<string, long> _tokens = new(StringComparer.Ordinal);
    // Desired state: the fleet file's services, then the changes made through the API (service.* commands).
    private readonly Dictionary<string, ServiceSpec> _services = new(StringComparer.Ordinal);
    // Services being deleted: kept (with their lease) until their last instance has stopped.
    private readonly HashSet<string> _deleting = new(StringComparer.Ordinal);
    private DateTimeOffset _nextLogCheck;
    private DateTimeOffset _nextLeaseCheck;
    // A record in the store that no slot of this healer writes: the live view can never hold every record.
    private bool _unmanagedRecords;

    /// <summary>Completes once the instances recorded by an earlier control plane have been re-adopted or restarted.</summary>
    public Task Adopted => _adopted.Task;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Every healer process hears every verdict (its own group); only the lease holder of a service acts on it.
        var group = $"healer-{options.Owner}";
        IAsyncDisposable probes, anomalies, desired, alerts;
        try
        {
            await PrepareAsync(stoppingToken).ConfigureAwait(false);
            probes = bus.Subscribe("probe.*", group, OnProbeEventAsync, new SubscriptionOptions { Transient = true });
            anomalies = bus.Subscribe(EventTypes.AnomalyDetected, group + "-anomalies", OnAnomalyAsync, new SubscriptionOptions { Transient = true });
            // Every healer keeps the desired state; only a service's lease holder starts and stops its processes.
            desired = bus.Subscribe("service.*", group + "-desired", OnServiceCommandAsync, new SubscriptionOptions { Transient = true });
            alerts = bus.Subscribe(EventTypes.AlertFiring, group + "-alerts", OnAlertAsync, new SubscriptionOptions { Transient = true });
            await RefreshLeasesAsync(stoppingToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            // Whoever waits for the start (autonomic up) hears why instead of waiting for ever.
            _adopted.TrySetException(ex);
            throw;
        }

        _adopted.TrySetResult();
        using var ticker = new PeriodicTimer(options.TickInterval, time);
        var tickLoop = TickAsync(ticker, stoppingToken);
        try
        {
            await foreach (var message in _inbox.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    await HandleAsync(message, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogHandleFailed(ex, message.InstanceId);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            await alerts.DisposeAsync().ConfigureAwait(false);
            await desired.DisposeAsync().ConfigureAwait(false);
            await anomalies.DisposeAsync().ConfigureAwait(false);
            await probes.DisposeAsync().ConfigureAwait(false);
            await tickLoop.ConfigureAwait(false);
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (options.LeaveRunningOnShutdown || options.DryRun)
        {
            return;
        }

        // The loop has ended: this is now the only code touching the slots.
        var stops = _slots.Values.Where(s => _held.Contains(s.Spec.Name) && s.Handle is not null && InstanceStates.IsAlive(s.Life.State)).Select(async slot =>
        {
            await runtime.StopAsync(slot.Handle!, slot.Spec.StopGracePeriod, cancellationToken).ConfigureAwait(false);
            slot.Life = slot.Life with { State = InstanceState.Stopped, Reason = "control plane shut down" };
            slot.Handle = null;
            await PersistAsync(slot, CancellationToken.None).ConfigureAwait(false);
        });
        await Task.WhenAll(stops).ConfigureAwait(false);
        await ReleaseLeasesAsync().ConfigureAwait(false);
    }

    private async Task ReleaseLeasesAsync()
    {
        foreach (var service in _held.ToArray())
        {
            try
            {
                await leases.ReleaseAsync(LeaseKey(service), options.Owner, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or TimeoutException)
            {
                LogLeaseError(ex, service);
            }
        }

        _held.Clear();
    }

    private async Task TickAsync(PeriodicTimer ticker, CancellationToken ct)
    {
        try
        {
            while (await ticker.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                _inbox.Writer.TryWrite(new Message(null, new Observation.Tick(), null, null));
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Posts an observation for an instance (used by the bus handlers, exit watchers and tests).</summary>
    public void Post(string instanceId, Observation observation, int? pid = null, IReadOnlyDictionary<string, string>? evidence = null) =>
        _inbox.Writer.TryWrite(new Message(instanceId, observation, pid, evidence));

    private Task OnProbeEventAsync(CloudEvent evt, CancellationToken ct)
    {
        var data = evt.Data?.Deserialize<ProbeVerdictData>(JsonDefaults.Options);
        if (data is null)
        {
            return Task.CompletedTask;
        }

        var evidence = new Dictionary<string, string>
        {
            ["probe"] = data.Probe,
            ["detail"] = data.Detail ?? "",
            ["consecutive_failures"] = data.ConsecutiveFailures.ToString(CultureInfo.InvariantCulture),
            ["latency_ms"] = data.LatencyMs.ToString("0.0", CultureInfo.InvariantCulture),
            ["event_id"] = evt.Id,
        };
        Observation? o = (data.Probe, data.Passing) switch
        {
            ("startup", true) => new Observation.StartupPassed(),
            ("readiness", var ready) => new Observation.Readiness(ready),
            ("liveness", false) => new Observation.Failed("hang", $"liveness probe failed {data.ConsecutiveFailures} times in a row ({data.Detail})", data.FirstFailureAt ?? evt.Time),
            ("startup", false) => new Observation.Failed("startup", $"startup probe failed {data.ConsecutiveFailures} times in a row ({data.Detail})", data.FirstFailureAt ?? evt.Time),
            _ => null,
        };
        if (o is not null)
        {
            Post(data.InstanceId, o, data.Pid, evidence);
        }

        return Task.CompletedTask;
    }

    private Task OnAnomalyAsync(CloudEvent evt, CancellationToken ct)
    {
        var data = evt.Data?.Deserialize<AnomalyData>(JsonDefaults.Options);
        if (data is null)
        {
            return Task.CompletedTask;
        }

        var evidence = new Dictionary<string, string>(data.Evidence) { ["event_id"] = evt.Id };
        Observation o = data.Cause == "oom"
            ? new Observation.Failed("oom", data.Detail, evt.Time)
            : new Observation.Degraded(data.Cause, data.Detail);
        Post(data.InstanceId, o, data.Pid, evidence);
        return Task.CompletedTask;
    }

    /// <summary>Saves the specs, makes a slot per wanted instance and forgets records of instances no longer wanted.</summary>
    private async Task PrepareAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(options.LogDirectory);
        foreach (var spec in fleet.Services)
        {
            _services[spec.Name] = spec;
        }

        await LoadDesiredChangesAsync(ct).ConfigureAwait(false);
        foreach (var spec in _services.Values)
        {
            await store.SaveServiceAsync(spec, ct).ConfigureAwait(false);
            for (var index = 0; index < spec.Replicas; index++)
            {
                var id = spec.InstanceId(index);
                _slots[id] = new Slot(id, spec, index);
            }
        }

        var wanted = _services.Keys.ToHashSet(StringComparer.Ordinal);
        foreach (var stale in (await store.ListInstancesAsync(ct).ConfigureAwait(false)).Where(r => !_slots.ContainsKey(r.Id)))
        {
            // The fleet shrank while no control plane ran. A service still in the fleet is its lease holder's business.
            if (wanted.Contains(stale.Service) || (await leases.GetAsync(LeaseKey(stale.Service), ct).ConfigureAwait(false)) is not null)
            {
                _unmanagedRecords = true;
                continue;
            }

            if (stale.Pid is { } pid && stale.StartTicks is { } ticks && runtime.Adopt(pid, ticks) is { } handle && !options.DryRun)
            {
                await runtime.StopAsync(handle, TimeSpan.FromSeconds(5), ct).ConfigureAwait(false);
            }

            await store.DeleteInstanceAsync(stale.Id, cancellationToken: ct).ConfigureAwait(false);
        }
    }

    /// <summary>Takes a token from the service's remediation bucket; a failing rate-limit backend does not block healing.</summary>
    private async Task<bool> RemediationAllowedAsync(ServiceSpec spec, CancellationToken ct)
    {
        try
        {
            return await rateLimiter.TryTakeAsync($"remediation/{spec.Name}", spec.Restart.RateBurst, spec.Restart.RatePerMinute / 60, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or TimeoutException)
        {
            LogLeaseError(ex, spec.Name);
            return true;
        }
    }

    /// <summary>The lease key of a service: one healer acts on a service at a time.</summary>
    public static string LeaseKey(string service) => $"healer/service/{service}";

    /// <summary>Renews held leases and tries to take the others; a newly taken service is taken over.</summary>
    private async Task RefreshLeasesAsync(CancellationToken ct)
    {
        _nextLeaseCheck = time.GetUtcNow() + options.LeaseTtl / 3;
        foreach (var spec in _services.Values.ToList())
        {
            Lease? lease;
            try
            {
                lease = await leases.TryAcquireAsync(LeaseKey(spec.Name), options.Owner, options.LeaseTtl, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or TimeoutException)
            {
                // Without the lease backend nobody can prove the lease is ours: stop acting until it answers again.
                LogLeaseError(ex, spec.Name);
                lease = null;
            }

            var had = _held.Contains(spec.Name);
            if (lease is not null)
            {
                _tokens[spec.Name] = lease.Token;
            }

            if (lease is not null && !had)
            {
                _held.Add(spec.Name);
                LogLeaseTaken(spec.Name, lease.Token);
                await TakeOverAsync(spec, lease, ct).ConfigureAwait(false);
            }
            else if (lease is null && had)
            {
                LogLeaseLost(spec.Name);
                LetGo(spec.Name);
            }
        }

        // The live view holds every instance only while this healer writes them all (a lost lease leaves them stale).
        registry.Complete = !_unmanagedRecords && _services.Keys.All(_held.Contains);
    }

    /// <summary>Stops acting on a service another healer holds now: forgets its processes, never kills them.</summary>
    private void LetGo(string service)
    {
        _held.Remove(service);
        _tokens.Remove(service);
        registry.Complete = false;
        foreach (var slot in _slots.Values.Where(s => s.Spec.Name == service))
        {
            slot.Handle = null;
            slot.Life = new Lifecycle { Restarts = slot.Life.Restarts };
            slot.Incident = null;
        }
    }

    /// <summary>The fencing token the records of <paramref name="service"/> are written with (0 while not held).</summary>
    private long FenceOf(string service) => _tokens.GetValueOrDefault(service);

    /// <summary>
    /// Takes a service over: re-adopts its recorded processes that still run (pid and start time must match), finds
    /// processes a dead healer started but never recorded (by their instance marker), settles actions left as intent,
    /// and lets the rest start.
    /// </summary>
    private async Task TakeOverAsync(ServiceSpec spec, Lease lease, CancellationToken ct)
    {
        var recorded = (await store.ListInstancesAsync(ct).ConfigureAwait(false)).Where(r => r.Service == spec.Name).ToDictionary(r => r.Id, StringComparer.Ordinal);
        var incidents = (await store.ListIncidentsAsync(500, ct).ConfigureAwait(false))
            .Where(i => i.Service == spec.Name && i.InstanceId is not null && i.Status is IncidentStatus.Open or IncidentStatus.Mitigated or IncidentStatus.Escalated)
            .GroupBy(i => i.InstanceId!)
            .ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var intents = (await store.ListActionsAsync(500, null, ct).ConfigureAwait(false))
            .Where(a => a.Status == ActionStatus.Intent && a.Agent == AgentNames.Healer)
            .ToLookup(a => a.Subject, StringComparer.Ordinal);

        foreach (var slot in _slots.Values.Where(s => s.Spec.Name == spec.Name))
        {
            var id = slot.Id;
            slot.Incident = incidents.GetValueOrDefault(id);
            slot.Handle = null;
            slot.Life = new Lifecycle();
            var evidence = new Dictionary<string, string> { ["lease_token"] = lease.Token.ToString(CultureInfo.InvariantCulture), ["owner"] = options.Owner };
            string found;
            if (recorded.TryGetValue(id, out var rec))
            {
                slot.Life = slot.Life with { Restarts = rec.Restarts };
            }

            if (rec is { Pid: { } pid, StartTicks: { } ticks } && InstanceStates.IsAlive(rec.State) && runtime.Adopt(pid, ticks) is { } handle)
            {
                slot.Handle = handle;
                slot.Life = slot.Life with { State = rec.State == InstanceState.Stopping ? InstanceState.Running : rec.State, StartedAt = rec.StartedAt, ReadySince = rec.ReadySince, Reason = "re-adopted" };
                found = $"process {pid} is still running";
            }
            else if (runtime.FindInstance(id, options.FleetId) is { } orphan)
            {
                slot.Handle = orphan;
                slot.Life = slot.Life with { State = InstanceState.Running, StartedAt = orphan.StartedAt, Reason = "adopted: started by an earlier healer that died before recording it" };
                found = $"process {orphan.Pid} runs for this instance but was not recorded";
            }
            else if (rec?.State == InstanceState.Fatal)
            {
                slot.Life = slot.Life with { State = InstanceState.Fatal, Reason = rec.Reason };
                found = "instance is FATAL";
            }
            else if (rec is not null && InstanceStates.IsAlive(rec.State))
            {
                // It was recorded alive and is gone: it ended while no healer watched it. Handled as the exit it was.
                slot.Life = slot.Life with { State = InstanceState.Running, StartedAt = rec.StartedAt, Reason = "not running at takeover" };
                Post(id, new Observation.Exited("not running at takeover", Clean: false, time.GetUtcNow()));
                found = "no process runs for this instance; restarting it";
            }
            else
            {
                found = "no process runs for this instance";
            }

            foreach (var intent in intents[id])
            {
                await store.UpsertActionAsync(intent with
                {
                    Status = ActionStatus.Failed,
                    Outcome = $"interrupted (its healer stopped before completing it); at takeover: {found}",
                    CompletedAt = time.GetUtcNow(),
                }, ct).ConfigureAwait(false);
            }

            if (slot.Handle is { } h)
            {
                WatchExit(slot, h);
                evidence["pid"] = h.Pid.ToString(CultureInfo.InvariantCulture);
                evidence["start_ticks"] = h.StartTicks.ToString(CultureInfo.InvariantCulture);
                await RecordAsync(slot, "adopt", "fleet.adopt", found, ActionStatus.Succeeded, $"adopted pid {h.Pid}", evidence, ct).ConfigureAwait(false);
                LogAdopted(id, h.Pid);
            }

            await FlushIncidentAsync(slot, ct).ConfigureAwait(false);
            await PersistAsync(slot, ct).ConfigureAwait(false);
        }
    }

    private async Task HandleAsync(Message message, CancellationToken ct)
    {
        if (message.Change is { } change)
        {
            await ChangeDesiredStateAsync(change, ct).ConfigureAwait(false);
            return;
        }

        if (message.InstanceId is null)
        {
            if (time.GetUtcNow() >= _nextLeaseCheck)
            {
                await RefreshLeasesAsync(ct).ConfigureAwait(false);
            }

            foreach (var slot in _slots.Values.Where(s => _held.Contains(s.Spec.Name)))
            {
                await ApplyAsync(slot, message.Observation, null, ct).ConfigureAwait(false);
            }

            RotateLogsWhenDue();
            return;
        }

        if (!_slots.TryGetValue(message.InstanceId, out var target) || !_held.Contains(target.Spec.Name))
        {
            return;
        }

        // An observation about an earlier process of this slot is stale.
        if (message.Pid is { } pid && target.Handle?.Pid != pid)
        {
            return;
        }

        var observation = message.Observation;
        if (observation is Observation.ReplaceRequested planned)
        {
            // Planned replacements go one at a time, never taking the last ready replica (no rate limit: nothing failed).
            var siblings = _slots.Values.Where(s => s.Spec.Name == target.Spec.Name).Select(s => (s.Id, s.Life.State)).ToArray();
            var (allowed, why) = Replacement.CanReplace(target.Id, siblings, target.Spec.Replicas);
            if (!allowed)
            {
                LogReplacementDeferred(target.Id, planned.Reason, why);
                _ = RepostLaterAsync(message, ct);
                return;
            }
        }
        else if (observation is Observation.Degraded kept && Quarantine?.IsQuarantined(target.Id) == true)
        {
            // A quarantined instance is kept as it is for forensics: not replaced for a degradation it may owe to the attack.
            LogQuarantinedKept(target.Id, kept.Cause);
            return;
        }
        else if (observation is Observation.Degraded degraded)
        {
            var siblings = _slots.Values.Where(s => s.Spec.Name == target.Spec.Name).Select(s => (s.Id, s.Life.State)).ToArray();
            var (allowed, why) = Replacement.CanReplace(target.Id, siblings, target.Spec.Replicas);
            if (!allowed)
            {
                LogReplacementDeferred(target.Id, degraded.Cause, why);
                // Re-offered by the monitor only once per process; retry shortly from here.
                _ = RepostLaterAsync(message, ct);
                return;
            }

            if (!await RemediationAllowedAsync(target.Spec, ct).ConfigureAwait(false))
            {
                LogReplacementDeferred(target.Id, degraded.Cause, "remediation rate limit reached");
                _ = RepostLaterAsync(message, ct);
                return;
            }

            var evidence = new Dictionary<string, string>(message.Evidence ?? new Dictionary<string, string>()) { ["replacement_rule"] = why };
            message = message with { Evidence = evidence };
        }

        await ApplyAsync(target, observation, message.Evidence, ct).ConfigureAwait(false);
    }

    private async Task RepostLaterAsync(Message message, CancellationToken ct)
    {
        try
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500), time, ct).ConfigureAwait(false);
            _inbox.Writer.TryWrite(message);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ApplyAsync(Slot slot, Observation observation, IReadOnlyDictionary<string, string>? evidence, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var before = slot.Life.State;
        var transition = InstanceLifecycle.Next(slot.Life, observation, slot.Spec, now, Random.Shared.NextDouble());
        slot.Life = transition.Next;
        if (observation is Observation.Exited)
        {
            slot.Handle = null;
        }

        var evidenceMap = new Dictionary<string, string>(evidence ?? new Dictionary<string, string>());
        if (observation is Observation.Exited exited)
        {
            evidenceMap["exit"] = exited.Detail;
            evidenceMap["exited_at"] = exited.At.ToString("O", CultureInfo.InvariantCulture);
        }

        foreach (var directive in transition.Directives)
        {
            await RunAsync(slot, directive, evidenceMap, ct).ConfigureAwait(false);
        }

        await FlushIncidentAsync(slot, ct).ConfigureAwait(false);

        if (slot.Retiring && slot.Life.State is InstanceState.Stopped or InstanceState.Fatal)
        {
            await RetireAsync(slot, ct).ConfigureAwait(false);
            return;
        }

        if (!slot.Retiring && before == InstanceState.Stopping && slot.Life.State == InstanceState.Stopped)
        {
            // Stopped for a scale-down that was taken back while it stopped: wanted again.
            Post(slot.Id, new Observation.ResetRequested());
        }

        if (slot.Life.State != before || transition.Directives.Count > 0 || observation is Observation.Launched)
        {
            await PersistAsync(slot, ct).ConfigureAwait(false);
            if (slot.Life.State != before)
            {
                LogTransition(slot.Id, before.ToString(), slot.Life.State.ToString(), slot.Life.Reason ?? "");
                await bus.PublishAsync(CloudEvent.Create(Source, EventTypes.InstanceStateChanged, slot.Id, now,
                    new { instanceId = slot.Id, from = before, to = slot.Life.State, reason = slot.Life.Reason }), ct).ConfigureAwait(false);
            }
        }
    }

    private async Task RunAsync(Slot slot, Directive directive, Dictionary<string, string> evidence, CancellationToken ct)
    {
        switch (directive)
        {
            case Directive.OpenIncident open:
                OpenIncident(slot, open, evidence);
                break;
            case Directive.Launch launch:
                await LaunchAsync(slot, launch, evidence, ct).ConfigureAwait(false);
                break;
            case Directive.Kill kill:
                await ActAsync(slot, "kill", kill.Rule, kill.Reason, evidence, h =>
                {
                    runtime.Signal(h, kill.Signal);
                    return Task.FromResult($"sent signal {kill.Signal} to pid {h.Pid}");
                }, ct).ConfigureAwait(false);
                break;
            case Directive.Stop stop:
                // Out of READY first, so the load balancer sends it nothing new while its in-flight requests drain.
                await PersistAsync(slot, ct).ConfigureAwait(false);
                await ActAsync(slot, slot.Retiring ? "stop" : "replace", stop.Rule, stop.Reason, evidence, h =>
                {
                    // The exit watcher reports the end; draining and stopping must not hold up the loop.
                    _ = DrainThenStopAsync(slot.Id, h, slot.Spec.StopGracePeriod, DrainTimeoutOf(slot.Spec));
                    var drained = Drain is null ? "" : $"in-flight requests drained (at most {DrainTimeoutOf(slot.Spec).TotalSeconds:0.#} s), then ";
                    return Task.FromResult($"{drained}SIGTERM to pid {h.Pid}; SIGKILL after {slot.Spec.StopGracePeriod.TotalSeconds:0.#} s");
                }, ct).ConfigureAwait(false);
                break;
            case Directive.MitigateIncident:
                UpdateIncident(slot, i => i.MitigatedAt is null ? i with { Status = IncidentStatus.Mitigated, MitigatedAt = time.GetUtcNow() } : i);
                break;
            case Directive.ResolveIncident:
                UpdateIncident(slot, i => i with
                {
                    Status = IncidentStatus.Resolved,
                    MitigatedAt = i.MitigatedAt ?? time.GetUtcNow(),
                    ResolvedAt = time.GetUtcNow(),
                });
                break;
            case Directive.Escalate escalate:
                await RecordAsync(slot, "escalate", escalate.Rule, escalate.Reason, ActionStatus.Succeeded, "instance is FATAL; a human must act", evidence, ct).ConfigureAwait(false);
                UpdateIncident(slot, i => i with { Status = IncidentStatus.Escalated, NeedsHuman = true, Summary = escalate.Reason });
                LogEscalated(slot.Id, escalate.Reason);
                break;
        }
    }

    private async Task LaunchAsync(Slot slot, Directive.Launch launch, Dictionary<string, string> evidence, CancellationToken ct)
    {
        var kind = slot.Life.Restarts > 0 || slot.Incident is not null ? "restart" : "start";
        if (kind == "restart" && !await RemediationAllowedAsync(slot.Spec, ct).ConfigureAwait(false))
        {
            // A safety rail above the per-instance budget: a whole service crashing at once is not restarted in a storm.
            var why = $"remediation rate limit of service {slot.Spec.Name} reached ({slot.Spec.Restart.RateBurst} at once, {slot.Spec.Restart.RatePerMinute:0.##} per minute); asking again in 1 s";
            if (!slot.RateLimited)
            {
                slot.RateLimited = true;
                await RecordAsync(slot, kind, "safety.remediation_rate_limit", why, ActionStatus.Skipped, "rate limited", evidence, ct).ConfigureAwait(false);
            }

            slot.Life = slot.Life with { State = InstanceState.Backoff, BackoffUntil = time.GetUtcNow() + TimeSpan.FromSeconds(1), Reason = why };
            return;
        }

        slot.RateLimited = false;

        var action = await RecordAsync(slot, kind, launch.Rule, launch.Reason, ActionStatus.Intent, null, evidence, ct).ConfigureAwait(false);
        if (options.DryRun)
        {
            await _actions.CompleteAsync(action, ActionStatus.Skipped, "dry run", ct).ConfigureAwait(false);
            return;
        }

        if (options.LaunchDelay > TimeSpan.Zero)
        {
            await Task.Delay(options.LaunchDelay, time, ct).ConfigureAwait(false);
        }

        Observation result;
        try
        {
            var handle = await runtime.StartAsync(new LaunchRequest
            {
                InstanceId = slot.Id,
                Command = slot.Spec.Command,
                Args = slot.Spec.Args,
                Env = slot.Spec.Env,
                WorkingDirectory = slot.Spec.WorkingDirectory,
                Port = slot.Spec.PortOf(slot.Index),
                LogPath = LogPathOf(slot.Id),
                SocketActivation = slot.Spec.SocketActivation,
                FleetId = options.FleetId,
            }, ct).ConfigureAwait(false);
            slot.Handle = handle;
            WatchExit(slot, handle);
            await _actions.CompleteAsync(action, ActionStatus.Succeeded, $"pid {handle.Pid}", ct).ConfigureAwait(false);
            result = new Observation.Launched();
        }
        catch (LaunchException ex)
        {
            await _actions.CompleteAsync(action, ActionStatus.Failed, ex.Message, ct).ConfigureAwait(false);
            LogLaunchFailed(slot.Id, ex.Message);
            result = new Observation.LaunchFailed(ex.Message, ex.Reason != "command_not_found");
        }

        // Applied inline so that the launch and its outcome are one step of the loop (logged there as one transition).
        var transition = InstanceLifecycle.Next(slot.Life, result, slot.Spec, time.GetUtcNow(), Random.Shared.NextDouble());
        slot.Life = transition.Next;
        foreach (var d in transition.Directives)
        {
            await RunAsync(slot, d, evidence, ct).ConfigureAwait(false);
        }
    }

    private async Task ActAsync(Slot slot, string kind, string rule, string reason, Dictionary<string, string> evidence, Func<IProcessHandle, Task<string>> act, CancellationToken ct)
    {
        var action = await RecordAsync(slot, kind, rule, reason, ActionStatus.Intent, null, evidence, ct).ConfigureAwait(false);
        if (options.DryRun)
        {
            await _actions.CompleteAsync(action, ActionStatus.Skipped, "dry run", ct).ConfigureAwait(false);
            return;
        }

        if (slot.Handle is not { } handle)
        {
            await _actions.CompleteAsync(action, ActionStatus.Failed, "no live process", ct).ConfigureAwait(false);
            return;
        }

        try
        {
            var outcome = await act(handle).ConfigureAwait(false);
            await _actions.CompleteAsync(action, ActionStatus.Succeeded, outcome, ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await _actions.CompleteAsync(action, ActionStatus.Failed, ex.Message, ct).ConfigureAwait(false);
        }
    }

    private void WatchExit(Slot slot, IProcessHandle handle)
    {
        var id = slot.Id;
        _ = handle.Exited.ContinueWith(t =>
        {
            var info = t.IsCompletedSuccessfully ? t.Result : new ExitInfo(null, null, time.GetUtcNow());
            Post(id, new Observation.Exited(info.ToString(), info.Clean, info.At), handle.Pid);
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>
    /// Opens an incident, or joins the instance's unresolved one (a crash loop is one incident). Kept in memory and
    /// written by <see cref="FlushIncidentAsync"/> after the step's actions, so a restart is not held up by it.
    /// </summary>
    private void OpenIncident(Slot slot, Directive.OpenIncident open, Dictionary<string, string> evidence)
    {
        var now = time.GetUtcNow();
        if (slot.Incident is { Status: not IncidentStatus.Resolved } current)
        {
            var merged = new Dictionary<string, string>(current.Evidence);
            foreach (var (k, v) in evidence)
            {
                merged[$"{open.Cause}.{k}"] = v;
            }

            merged["failures"] = (int.Parse(current.Evidence.GetValueOrDefault("failures", "1"), CultureInfo.InvariantCulture) + 1).ToString(CultureInfo.InvariantCulture);
            slot.Incident = current with { Status = current.Status == IncidentStatus.Escalated ? current.Status : IncidentStatus.Open, MitigatedAt = null, Evidence = merged, Summary = open.Summary };
            slot.IncidentDirty = true;
            return;
        }

        slot.Incident = new Incident
        {
            Id = RecordIds.New("inc"),
            Service = slot.Spec.Name,
            InstanceId = slot.Id,
            Cause = open.Cause,
            Status = IncidentStatus.Open,
            Summary = open.Summary,
            FailedAt = open.FailedAt <= now ? open.FailedAt : now,
            DetectedAt = now,
            Evidence = new Dictionary<string, string>(evidence) { ["failures"] = "1", ["rule"] = open.Rule },
        };
        slot.IncidentDirty = true;
        slot.IncidentIsNew = true;
        LogIncident(slot.Incident.Id, slot.Id, open.Cause, open.Summary);
    }

    private void UpdateIncident(Slot slot, Func<Incident, Incident> update)
    {
        if (slot.Incident is { } incident)
        {
            slot.Incident = update(incident);
            slot.IncidentDirty = true;
        }
    }

    /// <summary>Writes the step's changes to the instance's incident and announces them.</summary>
    private async Task FlushIncidentAsync(Slot slot, CancellationToken ct)
    {
        if (!slot.IncidentDirty || slot.Incident is not { } incident)
        {
            return;
        }

        slot.IncidentDirty = false;
        await store.UpsertIncidentAsync(incident, ct).ConfigureAwait(false);
        var now = time.GetUtcNow();
        if (slot.IncidentIsNew)
        {
            slot.IncidentIsNew = false;
            await bus.PublishAsync(CloudEvent.Create(Source, EventTypes.IncidentOpened, slot.Id, now, new { incidentId = incident.Id, cause = incident.Cause, summary = incident.Summary }), ct).ConfigureAwait(false);
        }
        else
        {
            await bus.PublishAsync(CloudEvent.Create(Source, EventTypes.IncidentUpdated, slot.Id, now, new { incidentId = incident.Id, status = incident.Status }), ct).ConfigureAwait(false);
        }

        if (incident.Status == IncidentStatus.Resolved)
        {
            slot.Incident = null;
        }
    }

    private async Task<AgentAction> RecordAsync(Slot slot, string kind, string rule, string reason, ActionStatus status, string? outcome, IReadOnlyDictionary<string, string> evidence, CancellationToken ct)
    {
        var action = _actions.New(kind, slot.Id, rule, reason, evidence) with { IncidentId = slot.Incident?.Id };
        action = status == ActionStatus.Intent
            ? await _actions.IntentAsync(action, ct).ConfigureAwait(false)
            : await _actions.DoneAsync(action, status, outcome!, ct).ConfigureAwait(false);
        UpdateIncident(slot, i => i with { ActionIds = [.. i.ActionIds, action.Id] });
        return action;
    }

    private async Task PersistAsync(Slot slot, CancellationToken ct)
    {
        var record = new InstanceRecord
        {
            Id = slot.Id,
            Service = slot.Spec.Name,
            Index = slot.Index,
            State = slot.Life.State,
            Pid = slot.Handle?.Pid,
            StartTicks = slot.Handle?.StartTicks,
            Port = slot.Spec.PortOf(slot.Index),
            StartedAt = slot.Handle is null ? null : slot.Life.StartedAt ?? slot.Handle.StartedAt,
            ReadySince = slot.Life.ReadySince,
            Restarts = slot.Life.Restarts,
            Reason = slot.Life.Reason,
            UpdatedAt = time.GetUtcNow(),
            Fence = FenceOf(slot.Spec.Name),
        };
        // The live view first (the load balancer follows it without waiting for the store), then the record.
        registry.Set(new LiveInstance(record, slot.Spec, slot.Handle));
        if (!await store.UpsertInstanceAsync(record, ct).ConfigureAwait(false))
        {
            // A healer with a newer lease wrote this instance: ours is gone even if the lease backend has not said so.
            LogFencedOut(slot.Spec.Name, slot.Id, record.Fence);
            if (_held.Contains(slot.Spec.Name))
            {
                LetGo(slot.Spec.Name);
            }
        }
    }

    private void RotateLogsWhenDue()
    {
        var now = time.GetUtcNow();
        if (now < _nextLogCheck)
        {
            return;
        }

        _nextLogCheck = now + TimeSpan.FromSeconds(5);
        foreach (var slot in _slots.Values)
        {
            try
            {
                LogRotation?.Invoke(LogPathOf(slot.Id), options.LogMaxBytes, options.LogFiles);
            }
            catch (IOException ex)
            {
                LogHandleFailed(ex, slot.Id);
            }
        }
    }

    /// <summary>Rotates one instance log (path, max bytes, files kept); set by the host to the backend's rotator.</summary>
    public Action<string, long, int>? LogRotation { get; set; }

    /// <summary>The log file of an instance.</summary>
    public string LogPathOf(string instanceId) => Path.Combine(options.LogDirectory, instanceId + ".log");

    private sealed record Message(string? InstanceId, Observation Observation, int? Pid, IReadOnlyDictionary<string, string>? Evidence, DesiredChange? Change = null);

    private sealed class Slot(string id, ServiceSpec spec, int index)
    {
        public string Id { get; } = id;
        public ServiceSpec Spec { get; set; } = spec;
        /// <summary>No longer wanted (scale-down, service deleted): removed once stopped.</summary>
        public bool Retiring { get; set; }
        public int Index { get; } = index;
        public Lifecycle Life { get; set; } = new();
        public IProcessHandle? Handle { get; set; }
        /// <summary>The instance's unresolved incident, kept here by its only writer.</summary>
        public Incident? Incident { get; set; }
        public bool IncidentDirty { get; set; }
        public bool IncidentIsNew { get; set; }
        /// <summary>A restart is waiting for the service's remediation rate limit (recorded once per wait).</summary>
        public bool RateLimited { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{InstanceId}: {From} -> {To} ({Reason})")]
    private partial void LogTransition(string instanceId, string from, string to, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "incident {IncidentId} opened for {InstanceId}: {Cause}: {Summary}")]
    private partial void LogIncident(string incidentId, string instanceId, string cause, string summary);

    [LoggerMessage(Level = LogLevel.Error, Message = "{InstanceId} escalated to a human: {Reason}")]
    private partial void LogEscalated(string instanceId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "{InstanceId} could not be launched: {Reason}")]
    private partial void LogLaunchFailed(string instanceId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{InstanceId} re-adopted (pid {Pid})")]
    private partial void LogAdopted(string instanceId, int pid);

    [LoggerMessage(Level = LogLevel.Information, Message = "replacement of {InstanceId} ({Cause}) deferred: {Why}")]
    private partial void LogReplacementDeferred(string instanceId, string cause, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "service {Service}: the write of {InstanceId} with fencing token {Token} was refused, a newer lease holder acts on it; letting go")]
    private partial void LogFencedOut(string service, string instanceId, long token);

    [LoggerMessage(Level = LogLevel.Information, Message = "instance {InstanceId} is quarantined: not replaced for {Cause}, kept for forensics")]
    private partial void LogQuarantinedKept(string instanceId, string cause);

    [LoggerMessage(Level = LogLevel.Information, Message = "lease of service {Service} taken (token {Token}); taking it over")]
    private partial void LogLeaseTaken(string service, long token);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lease of service {Service} lost; another healer acts on it now")]
    private partial void LogLeaseLost(string service);

    [LoggerMessage(Level = LogLevel.Warning, Message = "lease backend failed for service {Service}")]
    private partial void LogLeaseError(Exception ex, string service);

    [LoggerMessage(Level = LogLevel.Error, Message = "healer failed handling {InstanceId}")]
    private partial void LogHandleFailed(Exception ex, string? instanceId);
}
