namespace Autonomic.Agents.Monitoring;

/// <summary>Knobs of the monitoring agent.</summary>
public sealed class MonitorOptions
{
    /// <summary>How often probe workers are reconciled against the live instances.</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromMilliseconds(50);
    /// <summary>How often CPU, memory, open files and threads are sampled.</summary>
    public TimeSpan SampleInterval { get; set; } = TimeSpan.FromSeconds(1);
    /// <summary>Host the probes connect to.</summary>
    public string ProbeHost { get; set; } = "127.0.0.1";
}
