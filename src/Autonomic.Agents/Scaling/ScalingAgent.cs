using System.Collections.Concurrent;
using System.Text.Json;
using Autonomic.Agents.Fleet;
using Autonomic.Agents.Monitoring;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Scaling;
using Autonomic.Core.Specs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Autonomic.Agents.Scaling;

/// <summary>Knobs of the scaling agent.</summary>
public sealed record ScalingAgentOptions
{
    /// <summary>How often the loop looks for services due a decision (each service decides at its own interval).</summary>
    public TimeSpan Tick { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>A traffic sample older than this is not used.</summary>
    public TimeSpan TrafficStaleAfter { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>A scale request (queue length, minimum) older than this is forgotten.</summary>
    public TimeSpan RequestStaleAfter { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Decide and record, but publish no scale command.</summary>
    public bool DryRun { get; init; }
    /// <summary>Lease time of a service's scaling (one scaler acts per service).</summary>
    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(15);
}

/// <summary>
/// The scaling agent: for every service with a <c>scaling:</c> section it keeps the latest traffic sample, CPU per
/// instance and scale request, runs the service's <see cref="IScalingPolicy"/> at the service's interval, and when the
/// count changes records an action (intent, then outcome), publishes <c>service.scale</c> for the healer and
/// <c>scale.decided</c> with the decision's inputs and reason. The last decision per service is kept for the API.
/// </summary>
public sealed partial class ScalingAgent : SubscribingAgent
{
    private static readonly string Source = AgentNames.Source(Agent);
    private readonly ConcurrentDictionary<string, ServiceScaling> _services = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, double> _cpuCores = new(StringComparer.Ordinal);
    private readonly IEventBus _bus;
    private readonly ActionRecorder _actions;
    private readonly InstanceRegistry _registry;
    private readonly TimeProvider _time;
    private readonly ScalingAgentOptions _options;
    private readonly ILeaseManager? _leases;
    private readonly ILogger<ScalingAgent> _logger;
    private readonly string _owner = RecordIds.New("scaler");

    /// <summary>The agent's name in the audit trail.</summary>
    public const string Agent = "scaler";

    public ScalingAgent(
        IEventBus bus,
        IStateStore store,
        FleetSpec fleet,
        InstanceRegistry registry,
        TimeProvider time,
        ScalingAgentOptions options,
        ILogger<ScalingAgent> logger,
        ILeaseManager? leases = null)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        _bus = bus;
        _actions = new ActionRecorder(store, time, Agent);
        _registry = registry;
        _time = time;
        _options = options;
        _leases = leases;
        _logger = logger;
        foreach (var spec in fleet.Services)
        {
            Track(spec);
        }
    }

    /// <summary>The last decision per service (kept or changed), newest state first by service name.</summary>
    public IReadOnlyList<ScalingDecision> LastDecisions() =>
        _services.Values.Select(s => s.LastDecision).OfType<ScalingDecision>().OrderBy(d => d.Service, StringComparer.Ordinal).ToList();

    /// <summary>Runs one decision for every service that is due; returns the decisions made (for tests and what-if loops).</summary>
    public async Task<IReadOnlyList<ScalingDecision>> DecideDueAsync(CancellationToken ct)
    {
        var now = _time.GetUtcNow();
        var made = new List<ScalingDecision>();
        foreach (var s in _services.Values)
        {
            if (s.Policy is null || now < s.NextAt)
            {
                continue;
            }

            s.NextAt = now + s.Spec.Scaling!.Interval;
            ScalingDecision decision;
            lock (s)
            {
                decision = s.Policy.Decide(InputOf(s, now));
                s.LastDecision = decision;
            }

            made.Add(decision);
            if (decision.Changes)
            {
                await ActAsync(s, decision, ct).ConfigureAwait(false);
            }
        }

        return made;
    }

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new SubscriptionOptions { Capacity = 10_000 };
        Keep(_bus.Subscribe(EventTypes.TrafficSample, Agent, OnTrafficAsync, options));
        Keep(_bus.Subscribe(EventTypes.ScaleRequested, Agent, OnScaleRequestedAsync, options));
        Keep(_bus.Subscribe(EventTypes.ServiceScale, Agent, OnServiceScaleAsync, options));
        Keep(_bus.Subscribe(EventTypes.ServiceApply, Agent, OnServiceApplyAsync, options));
        // Each process keeps its own CPU view: a transient group per process.
        Keep(_bus.Subscribe(EventTypes.MetricSample, $"{Agent}-metrics-{_owner}", OnMetricAsync, options with { Transient = true }));
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.Tick, _time);
        try
        {
            do
            {
                try
                {
                    await DecideDueAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogPassFailed(ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Track(ServiceSpec spec)
    {
        IScalingPolicy? policy = null;
        try
        {
            policy = spec.Scaling is { } scaling ? ScalingPolicies.Create(scaling) : null;
        }
        catch (ArgumentException ex)
        {
            // A spec that reached the bus without the fleet reader's checks: that service is not scaled, the rest are.
            LogBadSpec(spec.Name, ex.Message);
        }

        var state = _services.AddOrUpdate(
            spec.Name,
            _ => new ServiceScaling(spec, policy) { Replicas = spec.Replicas },
            (_, old) => old.Spec.Scaling == spec.Scaling
                ? old.WithSpec(spec)
                : new ServiceScaling(spec, policy) { Replicas = spec.Replicas, LastDecision = old.LastDecision });
        state.Replicas = spec.Replicas;
    }

    private ScalingInput InputOf(ServiceScaling s, DateTimeOffset now)
    {
        var traffic = s.Traffic is { } t && now - s.TrafficAt <= _options.TrafficStaleAfter ? t : null;
        bool request = s.RequestAt is { } at && now - at <= _options.RequestStaleAfter;
        return new ScalingInput
        {
            Service = s.Spec.Name,
            Now = now,
            CurrentReplicas = s.Replicas,
            Traffic = traffic,
            Pods = PodsOf(s.Spec),
            QueueDepth = request ? s.Request?.QueueDepth : null,
            OldestAgeSeconds = request ? s.Request?.OldestAgeSeconds : null,
            RequestedMinimum = request ? s.Request?.MinReplicas : null,
        };
    }

    /// <summary>The service's instances as the HPA counts pods: CPU per instance against the CPU limit as the request.</summary>
    private List<HpaPod> PodsOf(ServiceSpec spec)
    {
        if (spec.Limits.Cpus is not { } cpus || spec.Scaling?.TargetUtilization is null)
        {
            return [];
        }

        long request = Math.Max(1, (long)Math.Round(cpus * 1000));
        var pods = new List<HpaPod>();
        foreach (var live in _registry.Snapshot())
        {
            if (live.Record.Service != spec.Name)
            {
                continue;
            }

            var state = live.Record.State switch
            {
                InstanceState.Ready => _cpuCores.ContainsKey(live.Record.Id) ? HpaPodState.Ready : HpaPodState.Missing,
                InstanceState.Pending or InstanceState.Starting or InstanceState.Running or InstanceState.Unready => HpaPodState.Unready,
                _ => HpaPodState.Ignored,
            };
            long? usage = _cpuCores.TryGetValue(live.Record.Id, out double cores) ? (long)Math.Round(cores * 1000) : null;
            pods.Add(new HpaPod(state, request, state == HpaPodState.Missing ? null : usage));
        }

        return pods;
    }

    private async Task ActAsync(ServiceScaling s, ScalingDecision decision, CancellationToken ct)
    {
        if (_leases is not null
            && await _leases.TryAcquireAsync($"scaling/{decision.Service}", _owner, _options.LeaseTtl, ct).ConfigureAwait(false) is null)
        {
            LogNotLeader(decision.Service);
            return;
        }

        var now = _time.GetUtcNow();
        var action = await _actions.IntentAsync(_actions.New(decision.To > decision.From ? "scale_up" : "scale_down", decision.Service, $"scaling.{decision.Policy}",
            $"{decision.From} -> {decision.To} replicas: {decision.Reason}", decision.Inputs, now), ct).ConfigureAwait(false);
        if (_options.DryRun)
        {
            await _actions.DoneAsync(action, ActionStatus.Skipped, "dry run", ct).ConfigureAwait(false);
            return;
        }

        try
        {
            await _bus.PublishAsync(CloudEvent.Create(Source, EventTypes.ServiceScale, decision.Service, now,
                new ServiceCommand(decision.Service, decision.To, decision.Reason, Agent)), ct).ConfigureAwait(false);
            await _bus.PublishAsync(CloudEvent.Create(Source, EventTypes.ScaleDecided, decision.Service, now, decision), ct).ConfigureAwait(false);
            s.Replicas = decision.To;
            await _actions.CompleteAsync(action, ActionStatus.Succeeded, $"asked for {decision.To} replicas", ct).ConfigureAwait(false);
            LogScaled(decision.Service, decision.From, decision.To, decision.Reason);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            await _actions.FailAsync(action, ex).ConfigureAwait(false);
            throw;
        }
    }

    private Task OnTrafficAsync(CloudEvent evt, CancellationToken ct)
    {
        if (Read<TrafficSample>(evt) is { } sample && _services.TryGetValue(sample.Service, out var s))
        {
            lock (s)
            {
                if (s.Traffic is null || sample.AtUtc >= s.Traffic.AtUtc)
                {
                    s.Traffic = sample;
                    s.TrafficAt = _time.GetUtcNow();
                }
            }
        }

        return Task.CompletedTask;
    }

    private Task OnScaleRequestedAsync(CloudEvent evt, CancellationToken ct)
    {
        if (Read<ScaleRequest>(evt) is { } request && _services.TryGetValue(request.Service, out var s))
        {
            lock (s)
            {
                s.Request = request;
                s.RequestAt = _time.GetUtcNow();
                // Woken early: a queue that needs capacity should not wait for the next interval.
                s.NextAt = DateTimeOffset.MinValue;
            }
        }

        return Task.CompletedTask;
    }

    private Task OnServiceScaleAsync(CloudEvent evt, CancellationToken ct)
    {
        if (Read<ServiceCommand>(evt) is { Replicas: { } replicas } command && _services.TryGetValue(command.Service, out var s))
        {
            lock (s)
            {
                s.Replicas = replicas;
            }
        }

        return Task.CompletedTask;
    }

    private Task OnServiceApplyAsync(CloudEvent evt, CancellationToken ct)
    {
        if (Read<ServiceSpec>(evt) is { } spec)
        {
            Track(spec);
        }

        return Task.CompletedTask;
    }

    private Task OnMetricAsync(CloudEvent evt, CancellationToken ct)
    {
        if (Read<MetricSampleData>(evt) is { } m)
        {
            _cpuCores[m.InstanceId] = m.CpuCores;
        }

        return Task.CompletedTask;
    }

    private T? Read<T>(CloudEvent evt)
        where T : class
    {
        try
        {
            return evt.Data is { } data ? data.Deserialize<T>(JsonDefaults.Options) : null;
        }
        catch (JsonException ex)
        {
            // A malformed event is dropped (and said so), never retried: it would fail the same way every time.
            LogBadEvent(evt.Type, evt.Id, ex.Message);
            return null;
        }
    }

    /// <summary>One service's scaling state. Mutable; guarded by locking the instance.</summary>
    private sealed class ServiceScaling(ServiceSpec spec, IScalingPolicy? policy)
    {
        public ServiceSpec Spec { get; private set; } = spec;
        public IScalingPolicy? Policy { get; } = policy;
        public int Replicas { get; set; }
        public TrafficSample? Traffic { get; set; }
        public DateTimeOffset TrafficAt { get; set; }
        public ScaleRequest? Request { get; set; }
        public DateTimeOffset? RequestAt { get; set; }
        public DateTimeOffset NextAt { get; set; } = DateTimeOffset.MinValue;
        public ScalingDecision? LastDecision { get; set; }

        public ServiceScaling WithSpec(ServiceSpec spec)
        {
            Spec = spec;
            return this;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "scaling pass failed")]
    private partial void LogPassFailed(Exception ex);

    [LoggerMessage(Level = LogLevel.Information, Message = "scale {Service}: {From} -> {To} ({Reason})")]
    private partial void LogScaled(string service, int from, int to, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "another scaler holds {Service}; not acting")]
    private partial void LogNotLeader(string service);

    [LoggerMessage(Level = LogLevel.Warning, Message = "not scaling {Service}: {Error}")]
    private partial void LogBadSpec(string service, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "dropped a malformed {Type} event {Id}: {Error}")]
    private partial void LogBadEvent(string type, string id, string error);
}
