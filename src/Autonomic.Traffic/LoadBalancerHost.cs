using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Scaling;
using Autonomic.Core.Specs;
using Microsoft.Extensions.Logging;

namespace Autonomic.Traffic;

/// <summary>
/// Runs one <see cref="ServiceLoadBalancer"/> per service that has a load balancer in its spec, keeps their
/// destinations equal to the ready instances (on every change of the source and once a second), publishes a
/// <c>traffic.sample</c> per service every second, and drains instances for whoever stops them.
/// </summary>
public sealed partial class LoadBalancerHost : ILoadBalancerDrain, IAsyncDisposable
{
    /// <summary>The CloudEvents source of the samples.</summary>
    public const string EventSource = "/traffic/load-balancer";

    private readonly IBackendSource _source;
    private readonly TimeProvider _time;
    private readonly IEventBus? _bus;
    private readonly ILogger _log;
    private readonly ILoggerFactory? _loggers;
    private readonly LoadBalancerSecurity? _security;
    private readonly Dictionary<string, ServiceLoadBalancer> _balancers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TrafficSample> _latest = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private CancellationTokenSource? _stop;
    private Task? _loop;

    public LoadBalancerHost(
        IBackendSource source, TrafficMetrics metrics, TimeProvider? time = null, IEventBus? bus = null, ILoggerFactory? loggers = null, LoadBalancerSecurity? security = null)
    {
        _security = security;
        _source = source;
        Metrics = metrics;
        _time = time ?? TimeProvider.System;
        _bus = bus;
        _loggers = loggers;
        _log = (ILogger?)loggers?.CreateLogger<LoadBalancerHost>() ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _source.Changed += Refresh;
    }

    public TrafficMetrics Metrics { get; }

    /// <summary>The load balancer of <paramref name="service"/>, or null.</summary>
    public ServiceLoadBalancer? this[string service]
    {
        get
        {
            lock (_lock)
            {
                return _balancers.GetValueOrDefault(service);
            }
        }
    }

    /// <summary>The last sample of each service.</summary>
    public IReadOnlyDictionary<string, TrafficSample> Latest
    {
        get
        {
            lock (_lock)
            {
                return new Dictionary<string, TrafficSample>(_latest, StringComparer.Ordinal);
            }
        }
    }

    /// <summary>
    /// Starts a load balancer for each service with one and the once-a-second loop. A port override listens there
    /// instead of on the spec's port (tests pass 0 for a free one).
    /// </summary>
    public async Task StartAsync(IEnumerable<ServiceSpec> services, int? portOverride = null, CancellationToken cancellationToken = default)
    {
        foreach (ServiceSpec service in services.Where(s => s.LoadBalancer is not null))
        {
            var balancer = new ServiceLoadBalancer(service, Metrics, _time, _loggers, _security);
            await balancer.StartAsync(portOverride, cancellationToken);
            lock (_lock)
            {
                _balancers[service.Name] = balancer;
            }

            LogStarted(_log, service.Name, balancer.Port, service.LoadBalancer!.Algorithm);
        }

        Refresh();
        _stop = new CancellationTokenSource();
        _loop = Task.Run(() => LoopAsync(_stop.Token), CancellationToken.None);
    }

    public async Task<bool> DrainAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ServiceLoadBalancer[] candidates;
        lock (_lock)
        {
            candidates = [.. _balancers.Values];
        }

        bool drained = true;
        foreach (ServiceLoadBalancer balancer in candidates.Where(b => b.Destinations.Contains(instanceId) || b.InFlightTo(instanceId) > 0))
        {
            drained &= await balancer.DrainAsync(instanceId, timeout, cancellationToken);
        }

        return drained;
    }

    private void Refresh()
    {
        ServiceLoadBalancer[] balancers;
        lock (_lock)
        {
            balancers = [.. _balancers.Values];
        }

        foreach (ServiceLoadBalancer balancer in balancers)
        {
            balancer.SetReady(_source.Ready(balancer.Service));
        }
    }

    private async Task LoopAsync(CancellationToken cancel)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), _time);
        long last = _time.GetTimestamp();
        try
        {
            while (await timer.WaitForNextTickAsync(cancel))
            {
                try
                {
                    Refresh();
                    long now = _time.GetTimestamp();
                    TimeSpan window = _time.GetElapsedTime(last, now);
                    last = now;
                    await SampleAsync(window, cancel);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogPassFailed(_log, ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task SampleAsync(TimeSpan window, CancellationToken cancel)
    {
        ServiceLoadBalancer[] balancers;
        lock (_lock)
        {
            balancers = [.. _balancers.Values];
        }

        DateTimeOffset at = _time.GetUtcNow();
        foreach (ServiceLoadBalancer balancer in balancers)
        {
            TrafficSample sample = Metrics.For(balancer.Service).TakeSample(at, window, balancer.HealthyDestinations);
            lock (_lock)
            {
                _latest[balancer.Service] = sample;
            }

            if (_bus is not null)
            {
                await _bus.PublishAsync(CloudEvent.Create(EventSource, EventTypes.TrafficSample, balancer.Service, at, sample), cancel);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _source.Changed -= Refresh;
        // Disposed twice when the host both stops it and disposes its container: the second call finds nothing to stop.
        if (Interlocked.Exchange(ref _stop, null) is { } stop)
        {
            await stop.CancelAsync();
            if (_loop is not null)
            {
                await _loop;
            }

            stop.Dispose();
        }

        ServiceLoadBalancer[] balancers;
        lock (_lock)
        {
            balancers = [.. _balancers.Values];
            _balancers.Clear();
        }

        foreach (ServiceLoadBalancer balancer in balancers)
        {
            await balancer.DisposeAsync();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "load balancer for {Service} listening on 127.0.0.1:{Port} ({Algorithm})")]
    private static partial void LogStarted(ILogger logger, string service, int port, LoadBalancingAlgorithm algorithm);

    [LoggerMessage(Level = LogLevel.Warning, Message = "load balancer pass failed")]
    private static partial void LogPassFailed(ILogger logger, Exception ex);
}
