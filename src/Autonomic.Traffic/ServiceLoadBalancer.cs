using System.Diagnostics;
using System.Globalization;
using System.Net;
using Autonomic.Agents.Security;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Specs;
using Autonomic.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.LoadBalancing;
using Yarp.ReverseProxy.Model;

namespace Autonomic.Traffic;

/// <summary>
/// The YARP load balancer of one service: a Kestrel listener on 127.0.0.1, one route to one cluster whose
/// destinations are the service's ready instances (swapped whole through <see cref="InMemoryConfigProvider"/>),
/// active health checks on the health path, passive ejection after consecutive transport failures, one retry
/// of idempotent requests on another destination, and draining before an instance stops. With
/// <see cref="LoadBalancerSecurity"/> it turns away clients the security agent blocked or rate-limited and reports
/// every request as an access event.
/// </summary>
public sealed class ServiceLoadBalancer : IAsyncDisposable
{
    /// <summary>Response header naming the instance that answered (or failed) a request.</summary>
    public const string InstanceHeader = "X-Autonomic-Instance";

    private readonly ServiceSpec _service;
    private readonly LoadBalancerSpec _spec;
    private readonly ServiceTraffic _traffic;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory? _loggers;
    private readonly LoadBalancerSecurity _security;
    private readonly Lock _lock = new();
    private readonly HashSet<string> _draining = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, DestinationState> _departed = new(StringComparer.Ordinal);
    private IReadOnlyList<Backend> _ready = [];
    private string _applied = "";
    private WebApplication? _app;
    private InMemoryConfigProvider? _config;
    private IProxyStateLookup? _state;

    public ServiceLoadBalancer(ServiceSpec service, TrafficMetrics metrics, TimeProvider? time = null, ILoggerFactory? loggers = null, LoadBalancerSecurity? security = null)
    {
        _security = security ?? LoadBalancerSecurity.None;
        _service = service;
        _spec = service.LoadBalancer ?? throw new ArgumentException($"service {service.Name} has no load balancer", nameof(service));
        _traffic = metrics.For(service.Name);
        _time = time ?? TimeProvider.System;
        _loggers = loggers;
    }

    public string Service => _service.Name;

    /// <summary>The port it listens on (the configured one, or the kernel's pick when that was 0).</summary>
    public int Port { get; private set; }

    public Uri Address => new($"http://127.0.0.1:{Port}/");

    /// <summary>Retries of idempotent requests on another destination after a transport failure.</summary>
    public long Retries => Interlocked.Read(ref _retries);

    private long _retries;

    /// <summary>Starts listening on <paramref name="port"/> (default: the spec's port; 0 picks a free one).</summary>
    public async Task StartAsync(int? port = null, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (_loggers is not null)
        {
            builder.Services.AddSingleton(_loggers);
        }

        int listen = port ?? _spec.Port;
        builder.WebHost.UseKestrel(o =>
        {
            o.Listen(IPAddress.Loopback, listen);
            o.AddServerHeader = false;
        });
        builder.Services.AddSingleton(_time);
        builder.Services.AddReverseProxy().LoadFromMemory([Route()], [Cluster([])]);
        builder.Services.AddSingleton<IPassiveHealthCheckPolicy, ConsecutiveFailuresPassivePolicy>();
        var app = builder.Build();
        app.Use(MeasureAsync);
        app.Use(GuardAsync);
        app.MapReverseProxy(pipeline =>
        {
            pipeline.Use(RetryOnceAsync);
            pipeline.UseSessionAffinity();
            pipeline.UseLoadBalancing();
            pipeline.UsePassiveHealthChecks();
        });
        await app.StartAsync(cancellationToken);
        _app = app;
        _config = app.Services.GetRequiredService<InMemoryConfigProvider>();
        _state = app.Services.GetRequiredService<IProxyStateLookup>();
        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Port = new Uri(bound).Port;
        Apply();
    }

    /// <summary>Replaces the ready instances; the destinations change when the set (minus draining ones) changes.</summary>
    public void SetReady(IReadOnlyList<Backend> ready)
    {
        lock (_lock)
        {
            _ready = ready.ToArray();
            // An instance that left READY is no longer draining: if it comes back (a restart keeps its id), it gets traffic again.
            _draining.IntersectWith(_ready.Select(b => b.InstanceId));
        }

        Apply();
    }

    /// <summary>Ids of the current destinations.</summary>
    public IReadOnlyList<string> Destinations
    {
        get
        {
            lock (_lock)
            {
                return _ready.Where(b => !_draining.Contains(b.InstanceId)).Select(b => b.InstanceId).ToArray();
            }
        }
    }

    /// <summary>Destinations that are not known unhealthy by the active or passive checks.</summary>
    public int HealthyDestinations =>
        _state is not null && _state.TryGetCluster(_service.Name, out ClusterState? cluster)
            ? cluster.Destinations.Values.Count(d => d.Health.Active != DestinationHealth.Unhealthy && d.Health.Passive != DestinationHealth.Unhealthy)
            : 0;

    /// <summary>Destinations YARP would pick from now (healthy or unknown).</summary>
    public IReadOnlyList<string> AvailableDestinations =>
        _state is not null && _state.TryGetCluster(_service.Name, out ClusterState? cluster)
            ? cluster.DestinationsState.AvailableDestinations.Select(d => d.DestinationId).ToArray()
            : [];

    /// <summary>Requests in flight to <paramref name="instanceId"/>, as YARP counts them.</summary>
    public int InFlightTo(string instanceId) => Find(instanceId)?.ConcurrentRequestCount ?? 0;

    /// <summary>The destination's state, also shortly after it left the config (its requests may still be running).</summary>
    private DestinationState? Find(string instanceId) =>
        _state is not null && _state.TryGetCluster(_service.Name, out ClusterState? cluster) && cluster.Destinations.TryGetValue(instanceId, out DestinationState? d)
            ? d
            : _departed.GetValueOrDefault(instanceId);

    /// <summary>
    /// Removes <paramref name="instanceId"/> from the destinations, then waits until its in-flight requests are
    /// done or <paramref name="timeout"/> passes. True when drained.
    /// </summary>
    public async Task<bool> DrainAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        DestinationState? destination = Find(instanceId);
        lock (_lock)
        {
            _draining.Add(instanceId);
        }

        Apply();
        if (destination is null)
        {
            return true;
        }

        // The destination's state object outlives its removal from the config: requests already forwarded to it
        // hold it and decrement its count when they finish. Two zero reads apart cover a request that was between
        // load balancing and the forwarder at the moment of removal.
        long deadline = _time.GetTimestamp() + (long)(timeout.TotalSeconds * _time.TimestampFrequency);
        int zeros = 0;
        while (true)
        {
            zeros = destination.ConcurrentRequestCount == 0 ? zeros + 1 : 0;
            if (zeros >= 2)
            {
                _departed.TryRemove(instanceId, out _);
                return true;
            }

            if (_time.GetTimestamp() >= deadline)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20), _time, cancellationToken);
        }
    }

    private void Apply()
    {
        if (_config is null)
        {
            return;
        }

        lock (_lock)
        {
            Backend[] destinations = _ready.Where(b => !_draining.Contains(b.InstanceId)).OrderBy(b => b.InstanceId, StringComparer.Ordinal).ToArray();
            string key = string.Join('\n', destinations.Select(b => b.InstanceId + " " + b.Address));
            if (key == _applied)
            {
                return;
            }

            _applied = key;
            // Keep the state of destinations about to leave: their requests in flight hold it, and a drain that
            // comes after the removal (the instance already left READY) still has something to wait on.
            var staying = destinations.Select(b => b.InstanceId).ToHashSet(StringComparer.Ordinal);
            foreach (var (id, departed) in _departed)
            {
                if (staying.Contains(id) || departed.ConcurrentRequestCount == 0)
                {
                    _departed.TryRemove(id, out _);
                }
            }

            if (_state is not null && _state.TryGetCluster(_service.Name, out ClusterState? cluster))
            {
                foreach (var (id, state) in cluster.Destinations)
                {
                    if (!staying.Contains(id))
                    {
                        _departed[id] = state;
                    }
                }
            }

            _config.Update([Route()], [Cluster(destinations)]);
        }
    }

    private RouteConfig Route() => new()
    {
        RouteId = _service.Name,
        ClusterId = _service.Name,
        Match = new RouteMatch { Path = "{**catch-all}" },
    };

    private ClusterConfig Cluster(IReadOnlyList<Backend> destinations) => new()
    {
        ClusterId = _service.Name,
        LoadBalancingPolicy = _spec.Algorithm switch
        {
            LoadBalancingAlgorithm.LeastRequests => LoadBalancingPolicies.LeastRequests,
            LoadBalancingAlgorithm.RoundRobin => LoadBalancingPolicies.RoundRobin,
            _ => LoadBalancingPolicies.PowerOfTwoChoices,
        },
        HealthCheck = new HealthCheckConfig
        {
            Active = new ActiveHealthCheckConfig
            {
                Enabled = true,
                Interval = _spec.HealthInterval,
                Timeout = _spec.HealthInterval < TimeSpan.FromSeconds(2) ? _spec.HealthInterval : TimeSpan.FromSeconds(2),
                Path = _spec.HealthPathFor(_service),
                Policy = HealthCheckConstants.ActivePolicy.ConsecutiveFailures,
            },
            Passive = new PassiveHealthCheckConfig
            {
                Enabled = true,
                Policy = ConsecutiveFailuresPassivePolicy.PolicyName,
                // An ejected destination is tried again after one health interval (at least 5 s).
                ReactivationPeriod = _spec.HealthInterval > TimeSpan.FromSeconds(5) ? _spec.HealthInterval : TimeSpan.FromSeconds(5),
            },
        },
        Metadata = new Dictionary<string, string>
        {
            // One failed active check ejects: a replica that turns unready leaves within one interval.
            ["ConsecutiveFailuresHealthPolicy.Threshold"] = "1",
            [ConsecutiveFailuresPassivePolicy.ThresholdKey] = _spec.PassiveFailures.ToString(CultureInfo.InvariantCulture),
        },
        HttpRequest = new ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromSeconds(30) },
        Destinations = destinations.ToDictionary(b => b.InstanceId, b => new DestinationConfig { Address = b.Address.ToString() }, StringComparer.Ordinal),
    };

    /// <summary>Counts every request, its status, latency and time in flight, and names the answering instance.</summary>
    private async Task MeasureAsync(HttpContext context, RequestDelegate next)
    {
        long start = Stopwatch.GetTimestamp();
        _traffic.Started();
        context.Response.OnStarting(() =>
        {
            if (context.Features.Get<IReverseProxyFeature>()?.ProxiedDestination is { } d)
            {
                context.Response.Headers[InstanceHeader] = d.DestinationId;
            }

            return Task.CompletedTask;
        });
        int status = 500;
        try
        {
            await next(context);
            status = context.Response.StatusCode;
        }
        finally
        {
            if (context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted)
            {
                status = 499;
            }

            _traffic.Completed(status, Stopwatch.GetElapsedTime(start));
        }
    }

    /// <summary>
    /// Answers blocked and over-limit clients with 403/429 instead of forwarding, and queues the request's access event
    /// for the security agent.
    /// </summary>
    private async Task GuardAsync(HttpContext context, RequestDelegate next)
    {
        long start = _time.GetTimestamp();
        try
        {
            if (_security.Gate is not { } gate || !await ClientGateAnswer.RefuseAsync(context, gate))
            {
                await next(context);
            }
        }
        finally
        {
            _security.Access?.Write(AccessEventOf.Request(context, _time.GetUtcNow(), _time.GetElapsedTime(start), service: _service.Name));
        }
    }

    /// <summary>
    /// One retry of a GET or HEAD whose forwarding failed before any response byte was sent (connection refused
    /// by an instance that is going away), on another destination.
    /// </summary>
    private async Task RetryOnceAsync(HttpContext context, Func<Task> next)
    {
        var proxy = context.GetReverseProxyFeature();
        IReadOnlyList<DestinationState> pool = proxy.AvailableDestinations;
        await next();
        if (context.Features.Get<IForwarderErrorFeature>() is not { Error: ForwarderError.Request } error
            || context.Response.HasStarted
            || !(HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)))
        {
            return;
        }

        DestinationState? failed = proxy.ProxiedDestination;
        var others = pool.Where(d => !ReferenceEquals(d, failed)).ToArray();
        if (others.Length == 0 && _state is not null && _state.TryGetCluster(_service.Name, out ClusterState? cluster))
        {
            // The pool was read before the failure; a fresher one may have a replacement.
            others = cluster.DestinationsState.AvailableDestinations.Where(d => d.DestinationId != failed?.DestinationId).ToArray();
        }

        if (others.Length == 0)
        {
            return;
        }

        _ = error;
        Interlocked.Increment(ref _retries);
        context.Features.Set<IForwarderErrorFeature>(null);
        context.Response.Clear();
        context.Response.StatusCode = StatusCodes.Status200OK;
        proxy.AvailableDestinations = others;
        await next();
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None);
            await _app.DisposeAsync();
            _app = null;
        }
    }
}

/// <summary>What a load balancer enforces and reports of security: the gate it asks per request and the queue its access events go to.</summary>
public sealed record LoadBalancerSecurity(IClientGate? Gate, AccessEventQueue? Access)
{
    public static readonly LoadBalancerSecurity None = new(null, null);
}
