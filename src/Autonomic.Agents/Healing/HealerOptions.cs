namespace Autonomic.Agents.Healing;

/// <summary>Knobs of the self-healing agent.</summary>
public sealed class HealerOptions
{
    /// <summary>How often timers (backoff, stability) are checked and desired state reconciled.</summary>
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromMilliseconds(50);
    /// <summary>Directory of per-instance log files (<c>INSTANCE.log</c>).</summary>
    public string LogDirectory { get; set; } = ".autonomic/logs";
    /// <summary>Decide and record, but do not act.</summary>
    public bool DryRun { get; set; }
    /// <summary>On shutdown, leave instances running (the next control plane re-adopts them) instead of stopping them.</summary>
    public bool LeaveRunningOnShutdown { get; set; }
    /// <summary>Per-instance log size that triggers a rotation, and rotated files kept.</summary>
    public long LogMaxBytes { get; set; } = 10 * 1024 * 1024;
    public int LogFiles { get; set; } = 3;
    /// <summary>
    /// Chaos knob: a pause between writing a launch's intent and carrying it out, to widen the window in which a
    /// healer can die mid-restart (fault tests set it through <c>AUTONOMIC_CHAOS_LAUNCH_DELAY_MS</c>). Zero in use.
    /// </summary>
    public TimeSpan LaunchDelay { get; set; }
    /// <summary>This healer's name in leases: unique per process.</summary>
    public string Owner { get; set; } = $"{Environment.MachineName}/{Environment.ProcessId}/{Guid.NewGuid().ToString("N")[..8]}";
    /// <summary>
    /// How long a service's lease lasts without renewal (renewed every third of it): when a healer dies, another
    /// takes its services over within this time.
    /// </summary>
    public TimeSpan LeaseTtl { get; set; } = TimeSpan.FromSeconds(3);
    /// <summary>Longest wait for an instance's in-flight requests to finish (the load balancer's drain) before it is stopped.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>Names the fleet (the same for every agent on one store) in each instance's environment, so a takeover finds only its own processes.</summary>
    public string FleetId { get; set; } = "default";
}
