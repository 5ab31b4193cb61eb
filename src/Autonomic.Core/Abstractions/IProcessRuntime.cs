namespace Autonomic.Core.Abstractions;

/// <summary>What to launch for one instance.</summary>
public sealed record LaunchRequest
{
    public required string InstanceId { get; init; }
    public required string Command { get; init; }
    public IReadOnlyList<string> Args { get; init; } = [];
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();
    public string? WorkingDirectory { get; init; }
    /// <summary>Given to the process as <c>PORT</c>; checked to be free before launch.</summary>
    public int? Port { get; init; }
    /// <summary>stdout and stderr are appended here.</summary>
    public required string LogPath { get; init; }
    /// <summary>
    /// Socket activation: the runtime holds a listening socket on <see cref="Port"/> across restarts and passes it to
    /// the process as descriptor 3 (<c>LISTEN_FDS=1</c>, systemd's protocol). Connections that arrive while the
    /// instance restarts wait in the socket's backlog instead of being refused.
    /// </summary>
    public bool SocketActivation { get; init; }
    /// <summary>Names the fleet in the process's environment (<c>AUTONOMIC_FLEET</c>), beside <c>AUTONOMIC_INSTANCE</c>.</summary>
    public string? FleetId { get; init; }
}

/// <summary>How a process ended.</summary>
public sealed record ExitInfo(int? ExitCode, int? Signal, DateTimeOffset At)
{
    /// <summary>Exit code 0 and no signal.</summary>
    public bool Clean => ExitCode == 0 && Signal is null;

    public override string ToString() => Signal is { } s ? $"killed by signal {s}" : $"exit code {ExitCode}";
}

/// <summary>A live (or once live) process of an instance.</summary>
public interface IProcessHandle
{
    int Pid { get; }
    /// <summary>Start time in clock ticks since boot; with <see cref="Pid"/> it names the process uniquely.</summary>
    long StartTicks { get; }
    DateTimeOffset StartedAt { get; }
    /// <summary>Completes the moment the process ends (no polling delay for processes this runtime started).</summary>
    Task<ExitInfo> Exited { get; }
}

/// <summary>Launch failed for a reason a person can act on (command not found, port in use).</summary>
public sealed class LaunchException(string message, string reason) : Exception(message)
{
    /// <summary>Machine-readable reason: <c>command_not_found</c>, <c>port_in_use</c>, <c>spawn_failed</c>.</summary>
    public string Reason { get; } = reason;
}

/// <summary>Runs instances as processes (local OS processes in the embedded default).</summary>
public interface IProcessRuntime : IAsyncDisposable
{
    /// <summary>Launches in its own process group/session. Throws <see cref="LaunchException"/>.</summary>
    Task<IProcessHandle> StartAsync(LaunchRequest request, CancellationToken cancellationToken = default);

    /// <summary>Takes over a process started earlier (by a previous control plane) if it is still the same process; else null.</summary>
    IProcessHandle? Adopt(int pid, long startTicks);

    /// <summary>
    /// Finds a live process launched for <paramref name="instanceId"/> of fleet <paramref name="fleetId"/> (by the
    /// markers in its environment) and adopts it; null when there is none. Used at takeover to find what a dead
    /// healer started but never recorded.
    /// </summary>
    IProcessHandle? FindInstance(string instanceId, string fleetId);

    /// <summary>SIGTERM to the process group, SIGKILL after <paramref name="grace"/>; completes when the process is gone.</summary>
    Task StopAsync(IProcessHandle handle, TimeSpan grace, CancellationToken cancellationToken = default);

    /// <summary>Sends a signal (e.g. 9 SIGKILL, 19 SIGSTOP, 18 SIGCONT) to the process.</summary>
    void Signal(IProcessHandle handle, int signal);
}

/// <summary>A resource sample of one process.</summary>
public sealed record ProcessSample(DateTimeOffset At, long RssBytes, double CpuSeconds, int OpenFiles, int Threads);

/// <summary>Reads resource usage of a process (from <c>/proc</c> on Linux).</summary>
public interface IProcessInspector
{
    /// <summary>Null when the process is gone.</summary>
    ProcessSample? Sample(int pid, DateTimeOffset now);
}

/// <summary>The outcome of one probe.</summary>
public sealed record ProbeResult(bool Ok, TimeSpan Latency, string Detail);

/// <summary>Runs a probe against a host and port.</summary>
public interface IProber
{
    Task<ProbeResult> ProbeAsync(Specs.ProbeSpec probe, string host, int? instancePort, CancellationToken cancellationToken = default);
}
