namespace Autonomic.Core.Specs;

/// <summary>How a probe reaches the instance.</summary>
public enum ProbeKind
{
    /// <summary>HTTP GET; a 2xx or 3xx answer within the timeout passes.</summary>
    Http,
    /// <summary>A TCP connect within the timeout passes.</summary>
    Tcp,
    /// <summary>A command run to completion; exit code 0 within the timeout passes.</summary>
    Exec,
}

/// <summary>A health probe (liveness, readiness or startup), with the same meaning as a Kubernetes probe.</summary>
public sealed record ProbeSpec
{
    public ProbeKind Kind { get; init; } = ProbeKind.Http;
    /// <summary>Request path for <see cref="ProbeKind.Http"/>.</summary>
    public string Path { get; init; } = "/healthz";
    /// <summary>Port to probe; null means the instance's own port.</summary>
    public int? Port { get; init; }
    /// <summary>Command and arguments for <see cref="ProbeKind.Exec"/>.</summary>
    public IReadOnlyList<string> Command { get; init; } = [];
    public TimeSpan Period { get; init; } = TimeSpan.FromMilliseconds(500);
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(400);
    /// <summary>Consecutive passes that turn a failing probe into a passing one.</summary>
    public int SuccessThreshold { get; init; } = 1;
    /// <summary>Consecutive failures that turn a passing probe into a failing one.</summary>
    public int FailureThreshold { get; init; } = 3;
    /// <summary>Time after the instance starts before the first probe.</summary>
    public TimeSpan InitialDelay { get; init; } = TimeSpan.Zero;
}

/// <summary>The probes of a service. Any of them may be absent.</summary>
public sealed record HealthChecks
{
    /// <summary>Failing liveness means the process is alive but broken: it is killed and restarted.</summary>
    public ProbeSpec? Liveness { get; init; }
    /// <summary>Failing readiness means the instance should get no traffic; it is not restarted for that alone.</summary>
    public ProbeSpec? Readiness { get; init; }
    /// <summary>Until startup passes, liveness and readiness are not checked.</summary>
    public ProbeSpec? Startup { get; init; }
}

/// <summary>When an exited instance is started again.</summary>
public enum RestartMode
{
    /// <summary>Restart on any exit.</summary>
    Always,
    /// <summary>Restart when the exit code is not 0 or a signal ended the process.</summary>
    OnFailure,
    /// <summary>Never restart.</summary>
    Never,
}

/// <summary>Restart policy: exponential backoff with jitter and a restart budget per window.</summary>
public sealed record RestartPolicy
{
    public RestartMode Mode { get; init; } = RestartMode.Always;
    /// <summary>Delay before the second consecutive restart; the first is immediate.</summary>
    public TimeSpan BackoffInitial { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>The backoff never exceeds this.</summary>
    public TimeSpan BackoffMax { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>An instance ready this long counts as stable: its backoff resets and its incident resolves.</summary>
    public TimeSpan ResetAfter { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>At most this many restarts within <see cref="BudgetWindow"/>; one more means FATAL and escalation.</summary>
    public int Budget { get; init; } = 5;
    public TimeSpan BudgetWindow { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Fraction (0..1) by which a backoff delay is randomly shortened or lengthened.</summary>
    public double Jitter { get; init; } = 0.2;
    /// <summary>
    /// Service-wide remediation rate limit (a token bucket shared by every healer through the lease backend):
    /// at most this many restarts and replacements of the service's instances in a burst ...
    /// </summary>
    public int RateBurst { get; init; } = 20;
    /// <summary>... refilled at this many per minute. A refused remediation waits a second and asks again.</summary>
    public double RatePerMinute { get; init; } = 20;
}

/// <summary>Resource limits of one instance.</summary>
public sealed record ResourceLimits
{
    /// <summary>Resident memory limit in bytes; above it the instance is killed and restarted.</summary>
    public long? MemoryBytes { get; init; }
    /// <summary>CPU limit in cores (informational for the process runtime; enforced by container runtimes).</summary>
    public double? Cpus { get; init; }
}

/// <summary>Thresholds of the monitoring agent's trend detection for a service.</summary>
public sealed record TrendPolicy
{
    /// <summary>Replace an instance whose memory is predicted to reach its limit within this horizon.</summary>
    public TimeSpan LeakHorizon { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Replace an instance whose probe latency p50 over the window exceeds this, if set.</summary>
    public TimeSpan? LatencyLimit { get; init; }
    /// <summary>Samples kept per instance.</summary>
    public int Window { get; init; } = 30;
    /// <summary>Samples needed before a trend is trusted.</summary>
    public int MinSamples { get; init; } = 6;
}

/// <summary>How a load balancer picks a destination for a request.</summary>
public enum LoadBalancingAlgorithm
{
    /// <summary>Two random destinations, the one with fewer requests in flight wins (YARP PowerOfTwoChoices).</summary>
    PowerOfTwo,
    /// <summary>The destination with the fewest requests in flight (YARP LeastRequests).</summary>
    LeastRequests,
    /// <summary>Each destination in turn (YARP RoundRobin).</summary>
    RoundRobin,
}

/// <summary>
/// A load balancer in front of a service's ready replicas: one listener on <see cref="Port"/>, destinations
/// that follow readiness, active and passive health checks, and connection draining before an instance stops.
/// </summary>
public sealed record LoadBalancerSpec
{
    /// <summary>Port the load balancer listens on (127.0.0.1).</summary>
    public required int Port { get; init; }
    public LoadBalancingAlgorithm Algorithm { get; init; } = LoadBalancingAlgorithm.PowerOfTwo;
    /// <summary>Path of the active health check; null means the readiness probe's HTTP path, else <c>/healthz</c>.</summary>
    public string? HealthPath { get; init; }
    /// <summary>Time between active health checks of each destination.</summary>
    public TimeSpan HealthInterval { get; init; } = TimeSpan.FromSeconds(1);
    /// <summary>Consecutive failed requests (connection refused, reset, timeout) that eject a destination.</summary>
    public int PassiveFailures { get; init; } = 3;
    /// <summary>Longest wait for in-flight requests of a removed instance before it is stopped anyway.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The active health-check path for <paramref name="service"/>.</summary>
    public string HealthPathFor(ServiceSpec service) =>
        HealthPath ?? (service.Health.Readiness is { Kind: ProbeKind.Http } r ? r.Path : "/healthz");
}

/// <summary>The desired state of one service. Immutable; a change is a new spec.</summary>
public sealed record ServiceSpec
{
    public required string Name { get; init; }
    public required string Command { get; init; }
    public IReadOnlyList<string> Args { get; init; } = [];
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();
    public string? WorkingDirectory { get; init; }
    /// <summary>Base port; replica i listens on Port + i (given to it as PORT). Null: the service takes no port.</summary>
    public int? Port { get; init; }
    public int Replicas { get; init; } = 1;
    /// <summary>Hold each replica's listening socket across restarts and pass it as descriptor 3 (systemd's LISTEN_FDS protocol).</summary>
    public bool SocketActivation { get; init; }
    public HealthChecks Health { get; init; } = new();
    public RestartPolicy Restart { get; init; } = new();
    public ResourceLimits Limits { get; init; } = new();
    public TrendPolicy Trends { get; init; } = new();
    /// <summary>Automatic scaling; null: the replica count changes only when someone asks.</summary>
    public ScalingSpec? Scaling { get; init; }
    /// <summary>Time between SIGTERM and SIGKILL when an instance is stopped.</summary>
    public TimeSpan StopGracePeriod { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>A load balancer in front of the ready replicas, or null for none.</summary>
    public LoadBalancerSpec? LoadBalancer { get; init; }

    /// <summary>The port of replica <paramref name="index"/>, or null when the service takes no port.</summary>
    public int? PortOf(int index) => Port is { } p ? p + index : null;

    /// <summary>The id of replica <paramref name="index"/>: <c>name-index</c>.</summary>
    public string InstanceId(int index) => $"{Name}-{index}";
}

/// <summary>Settings of the control plane itself.</summary>
public sealed record ControlPlaneSettings
{
    /// <summary>Where the local HTTP API listens.</summary>
    public string Api { get; init; } = "http://127.0.0.1:7411";
    /// <summary>Store URL: <c>sqlite:PATH</c> or <c>postgres://user:pw@host:port/db</c>.</summary>
    public string Store { get; init; } = "sqlite:.autonomic/state.db";
    /// <summary>Bus URL: <c>memory://</c> or <c>amqp://user:pw@host:port/vhost</c>.</summary>
    public string Bus { get; init; } = "memory://";
    /// <summary>Leases and rate limits: <c>inprocess://</c> or <c>redis://host:6379/0</c>.</summary>
    public string Leases { get; init; } = "inprocess://";
    /// <summary>Directory for per-instance logs.</summary>
    public string LogDirectory { get; init; } = ".autonomic/logs";
    /// <summary>Per-instance log size that triggers a rotation.</summary>
    public long LogMaxBytes { get; init; } = 10 * 1024 * 1024;
    /// <summary>Rotated files kept per instance.</summary>
    public int LogFiles { get; init; } = 3;
    /// <summary>Decide and record, but do not act.</summary>
    public bool DryRun { get; init; }
    /// <summary>The optimization agent's cost model.</summary>
    public CostSettings Cost { get; init; } = new();
    /// <summary>Named object stores served under <c>/api/v1/objects</c>.</summary>
    public ObjectsSettings Objects { get; init; } = new();
    /// <summary>The security agent's settings (<c>control_plane.security</c>).</summary>
    public SecuritySettings Security { get; init; } = new();
}

/// <summary>A fleet file: the control plane's settings and the services it keeps alive.</summary>
public sealed record FleetSpec
{
    public ControlPlaneSettings Settings { get; init; } = new();
    public IReadOnlyList<ServiceSpec> Services { get; init; } = [];
    /// <summary>The file it was read from, if any.</summary>
    public string? SourcePath { get; init; }
}

/// <summary>Which scaling policy runs for a service.</summary>
public enum ScalingPolicyKind
{
    /// <summary>No automatic scaling.</summary>
    None,
    /// <summary>The Kubernetes HPA algorithm on CPU utilization or requests per replica.</summary>
    Hpa,
    /// <summary>Holt-Winters forecast of the request rate, ahead by the start time; reactive HPA when the forecast is poor.</summary>
    Predictive,
    /// <summary>KEDA-style: queue length per replica, activation, scale to zero when idle.</summary>
    Queue,
}

/// <summary>A service's automatic scaling (the <c>scaling:</c> section of the fleet file). Defaults follow Kubernetes and KEDA.</summary>
public sealed record ScalingSpec
{
    public ScalingPolicyKind Policy { get; init; } = ScalingPolicyKind.Hpa;
    public int Min { get; init; } = 1;
    public int Max { get; init; } = 10;
    /// <summary>CPU target in percent of each replica's <see cref="ResourceLimits.Cpus"/> (the request).</summary>
    public int? TargetUtilization { get; init; }
    /// <summary>Requests per second one replica should carry (also the per-replica capacity of the predictive policy).</summary>
    public double? TargetRequestsPerReplica { get; init; }
    /// <summary>Messages per replica for the queue policy.</summary>
    public double TargetQueuePerReplica { get; init; } = 5;
    /// <summary>The queue policy activates from zero when more than this many messages wait.</summary>
    public int ActivationThreshold { get; init; }
    /// <summary>The queue policy scales to <see cref="Min"/> after this long without messages over the activation threshold.</summary>
    public TimeSpan IdleCooldown { get; init; } = TimeSpan.FromSeconds(300);
    /// <summary>The queue policy adds replicas when the oldest message is older than this.</summary>
    public TimeSpan? OldestAgeTarget { get; init; }
    /// <summary>No change while |ratio − 1| ≤ tolerance.</summary>
    public double Tolerance { get; init; } = 0.1;
    public TimeSpan ScaleUpStabilization { get; init; } = TimeSpan.Zero;
    public TimeSpan ScaleDownStabilization { get; init; } = TimeSpan.FromSeconds(300);
    public TimeSpan ScaleUpCooldown { get; init; } = TimeSpan.Zero;
    public TimeSpan ScaleDownCooldown { get; init; } = TimeSpan.Zero;
    /// <summary>At most this many replicas added or removed per decision; 0: no limit beyond the rate policies.</summary>
    public int MaxStep { get; init; }
    /// <summary>How long a new replica takes to become ready: the predictive policy looks this far ahead.</summary>
    public TimeSpan StartTime { get; init; } = TimeSpan.FromSeconds(5);
    /// <summary>Extra look-ahead of the predictive policy beyond <see cref="StartTime"/>.</summary>
    public TimeSpan ForecastMargin { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>Length of the traffic's season (a day for diurnal traffic).</summary>
    public TimeSpan Season { get; init; } = TimeSpan.FromDays(1);
    /// <summary>Step of the predictive policy's series (the season holds Season / Step steps).</summary>
    public TimeSpan Step { get; init; } = TimeSpan.FromMinutes(5);
    /// <summary>Above this recent forecast error (weighted absolute percentage error, 0..1) the predictive policy falls back to reactive.</summary>
    public double MaxForecastError { get; init; } = 0.25;
    /// <summary>How often the scaling agent decides.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>Prices of the optimization agent's cost model and its knobs (the <c>cost:</c> section of <c>control_plane</c>).</summary>
public sealed record CostSettings
{
    /// <summary>Price of one CPU core busy for one second.</summary>
    public double PerCpuSecond { get; init; } = 0.000011;
    /// <summary>Price of one GiB of resident memory held for one second.</summary>
    public double PerGbSecond { get; init; } = 0.0000012;
    /// <summary>Price of one replica running for an hour, whatever it uses.</summary>
    public double PerReplicaHour { get; init; } = 0.01;
    public string Currency { get; init; } = "USD";
    /// <summary>A service without traffic for this long is idle: scale it to its minimum (or zero).</summary>
    public TimeSpan IdleAfter { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>Apply recommendations (within each service's scaling bounds) instead of only recording them.</summary>
    public bool AutoApply { get; init; }
    /// <summary>Right-sizing leaves this much headroom over the observed p95 (0.2 = 20%).</summary>
    public double Headroom { get; init; } = 0.2;
}
