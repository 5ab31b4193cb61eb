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
    /// <summary>Time between SIGTERM and SIGKILL when an instance is stopped.</summary>
    public TimeSpan StopGracePeriod { get; init; } = TimeSpan.FromSeconds(5);

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
