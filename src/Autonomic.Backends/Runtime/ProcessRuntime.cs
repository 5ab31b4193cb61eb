using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Autonomic.Core.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Autonomic.Backends.Runtime;

/// <summary>
/// Runs instances as local Linux processes. Each instance is the session and process-group leader of its own
/// session (started through <c>/usr/bin/setsid</c>, which execs in place, so <see cref="IProcessHandle.Pid"/> is the
/// program's own pid). stdout and stderr are appended by the kernel to the instance's log file, so an instance keeps
/// running and logging when the control plane dies, and a later control plane can <see cref="Adopt"/> it.
/// Exit status convention: a program that ends normally reports <c>ExitInfo(code, null)</c>; one killed by a
/// signal reports <c>ExitInfo(null, signal)</c>. The wait status of a child surfaces in .NET as 128+signal, so an
/// exit code in 129..192 is read as a signal (the shell's convention; a program that itself exits with such a code
/// is indistinguishable). An adopted process is not our child: its exit status is unknown, <c>ExitInfo(null, null)</c>.
/// Disposing the runtime does not stop instances; it only releases the watchers (pending <c>Exited</c> tasks are
/// cancelled).
/// </summary>
public sealed partial class ProcessRuntime : IProcessRuntime
{
    private const string SetsidPath = "/usr/bin/setsid";
    private static readonly TimeSpan PollFallbackPeriod = TimeSpan.FromMilliseconds(50);

    // $0 is the log path, "$@" the program and its arguments: nothing is interpolated into the script.
    private const string LaunchScript = "exec \"$SETSID\" \"$@\" </dev/null >>\"$0\" 2>&1";

    // Socket activation: the held listener (descriptor FD here) becomes descriptor 3 of the program. The pid of this
    // shell is the program's pid (exec all the way), so LISTEN_PID names the program, as the protocol wants.
    private const string ActivationScript = "export LISTEN_FDS=1 LISTEN_PID=$$; exec \"$SETSID\" \"$@\" </dev/null >>\"$0\" 2>&1 3<&{fd} {fd}<&-";

    // Descriptors are inherited by every child forked while one is not close-on-exec: launches take turns.
    private static readonly Lock LaunchLock = new();
    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;
    private readonly ConcurrentDictionary<int, Socket> _listeners = new();

    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _disposed = new();
    private readonly ConcurrentDictionary<int, Process> _children = new();
    private int _isDisposed;

    public ProcessRuntime(TimeProvider time, ILogger<ProcessRuntime>? logger = null)
    {
        _time = time;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>For tests: watch adopted processes by polling <c>/proc</c> as if pidfd_open were unavailable.</summary>
    internal bool ForcePollingFallback { get; init; }

    public Task<IProcessHandle> StartAsync(LaunchRequest request, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_isDisposed != 0, this);
        cancellationToken.ThrowIfCancellationRequested();

        var workDir = request.WorkingDirectory is { } wd ? Path.GetFullPath(wd) : null;
        if (workDir is not null && !Directory.Exists(workDir))
        {
            throw new LaunchException($"working directory '{workDir}' does not exist (instance {request.InstanceId})", "spawn_failed");
        }

        var command = ResolveCommand(request, workDir)
            ?? throw new LaunchException($"command '{request.Command}' not found or not executable (instance {request.InstanceId})", "command_not_found");

        Socket? listener = null;
        if (request.Port is { } port)
        {
            if (request.SocketActivation)
            {
                listener = ListenerFor(port) ?? throw new LaunchException($"port {port} is already in use (instance {request.InstanceId})", "port_in_use");
            }
            else if (!IsPortFree(port))
            {
                throw new LaunchException($"port {port} is already in use (instance {request.InstanceId})", "port_in_use");
            }
        }

        if (!File.Exists(SetsidPath))
        {
            throw new LaunchException($"{SetsidPath} (util-linux) is missing; it is needed to give instance {request.InstanceId} its own session", "spawn_failed");
        }

        var logPath = Path.GetFullPath(request.LogPath);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
            // Fail here, with a clear reason, rather than in the shell where the error would go nowhere.
            using var probe = new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new LaunchException($"cannot open log file '{logPath}' for instance {request.InstanceId}: {e.Message}", "spawn_failed");
        }

        // dash takes only one-digit descriptors in redirections; the held listener's number is larger.
        var psi = new ProcessStartInfo(listener is null ? "/bin/sh" : "/bin/bash")
        {
            UseShellExecute = false,
            WorkingDirectory = workDir ?? string.Empty,
        };
        psi.ArgumentList.Add("-c");
        var script = listener is null
            ? LaunchScript
            : ActivationScript.Replace("{fd}", ((int)listener.SafeHandle.DangerousGetHandle()).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        psi.ArgumentList.Add(script.Replace("$SETSID", SetsidPath, StringComparison.Ordinal));
        psi.ArgumentList.Add(logPath);
        psi.ArgumentList.Add(command);
        foreach (var a in request.Args)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (k, v) in request.Env)
        {
            psi.Environment[k] = v;
        }

        if (request.Port is { } p)
        {
            psi.Environment["PORT"] = p.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        psi.Environment["AUTONOMIC_INSTANCE"] = request.InstanceId;
        if (request.FleetId is { } fleetId)
        {
            psi.Environment["AUTONOMIC_FLEET"] = fleetId;
        }

        Process process;
        lock (LaunchLock)
        {
            LibC.MarkInheritedDescriptorsCloseOnExec();
            var listenerFd = listener is null ? -1 : (int)listener.SafeHandle.DangerousGetHandle();
            if (listenerFd >= 0)
            {
                LibC.SetCloseOnExec(listenerFd, false);
            }

            try
            {
                process = Process.Start(psi) ?? throw new LaunchException($"could not start instance {request.InstanceId}", "spawn_failed");
            }
            catch (Win32Exception e)
            {
                throw new LaunchException($"could not start instance {request.InstanceId}: {e.Message}", "spawn_failed");
            }
            finally
            {
                if (listenerFd >= 0)
                {
                    LibC.SetCloseOnExec(listenerFd, true);
                }
            }
        }

        var pid = process.Id;
        var startedAt = _time.GetUtcNow();
        // The same process lives on through both execs (sh -> setsid -> program), so its start ticks are final now.
        // A program that already ended and was reaped has no /proc entry left: 0 never matches a live process.
        var startTicks = ProcFs.StartTicksOf(pid) ?? 0;
        _children[pid] = process;
        var exited = WatchChildAsync(pid, process);
        LogStarted(request.InstanceId, pid, command, logPath);
        return Task.FromResult<IProcessHandle>(new ProcessHandle(pid, startTicks, startedAt, exited, isChild: true));
    }

    /// <summary>The listening socket held for <paramref name="port"/>, bound on first use; null when the port is taken.</summary>
    private Socket? ListenerFor(int port)
    {
        if (_listeners.TryGetValue(port, out var held))
        {
            return held;
        }

        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // SO_REUSEADDR alone: .NET's ReuseAddress also sets SO_REUSEPORT, which would let a program that ignores
            // the passed socket bind the port beside it and take half the connections.
            socket.SetRawSocketOption(SolSocket, SoReuseAddr, BitConverter.GetBytes(1));
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen(1024);
        }
        catch (SocketException)
        {
            socket.Dispose();
            return null;
        }

        return _listeners.GetOrAdd(port, socket);
    }

    public IProcessHandle? FindInstance(string instanceId, string fleetId)
    {
        ObjectDisposedException.ThrowIf(_isDisposed != 0, this);
        string[] wanted = [$"AUTONOMIC_INSTANCE={instanceId}", $"AUTONOMIC_FLEET={fleetId}"];
        foreach (var pid in ProcFs.FindByEnvironment(wanted))
        {
            if (ProcFs.StartTicksOf(pid) is { } ticks && Adopt(pid, ticks) is { } handle)
            {
                return handle;
            }
        }

        return null;
    }

    public IProcessHandle? Adopt(int pid, long startTicks)
    {
        ObjectDisposedException.ThrowIf(_isDisposed != 0, this);
        if (pid <= 0 || ProcFs.ReadStat(pid) is not { } stat || stat.StartTicks != startTicks)
        {
            return null;
        }

        var pidfd = ForcePollingFallback ? -1 : LibC.PidfdOpen(pid);
        if (pidfd < 0 && !ForcePollingFallback)
        {
            LogPidfdUnavailable(pid);
        }

        var tcs = new TaskCompletionSource<ExitInfo>(TaskCreationOptions.RunContinuationsAsynchronously);
        var token = _disposed.Token;
        _ = Task.Factory.StartNew(
            () => WatchAdopted(pid, startTicks, pidfd, tcs, token),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        LogAdopted(pid, startTicks);
        return new ProcessHandle(pid, startTicks, ProcFs.StartTimeOf(startTicks), tcs.Task, isChild: false);
    }

    public async Task StopAsync(IProcessHandle handle, TimeSpan grace, CancellationToken cancellationToken = default)
    {
        // After disposal the watchers are gone and Exited is cancelled: "already exited" would be a lie.
        ObjectDisposedException.ThrowIf(_isDisposed != 0, this);
        if (handle.Exited.IsCompleted)
        {
            return;
        }

        SignalGroup(handle, LibC.SIGTERM);
        // A stopped process would hold SIGTERM pending until the grace ran out; continuing it lets it exit cleanly.
        SignalGroup(handle, LibC.SIGCONT);

        var graceOver = Task.Delay(grace, _time, cancellationToken);
        var first = await Task.WhenAny(handle.Exited, graceOver).ConfigureAwait(false);
        if (first != handle.Exited)
        {
            cancellationToken.ThrowIfCancellationRequested();
            LogKilledAfterGrace(handle.Pid, grace.TotalMilliseconds);
            SignalGroup(handle, LibC.SIGKILL);
        }

        await handle.Exited.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Signal(IProcessHandle handle, int signal)
    {
        ObjectDisposedException.ThrowIf(_isDisposed != 0, this);
        if (!IsStillSame(handle))
        {
            return;
        }

        var errno = LibC.Kill(handle.Pid, signal);
        if (errno != 0 && errno != LibC.ESRCH)
        {
            throw new InvalidOperationException($"kill({handle.Pid}, {signal}) failed with errno {errno}");
        }
    }

    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _isDisposed, 1) != 0)
        {
            return ValueTask.CompletedTask;
        }

        _disposed.Cancel();
        foreach (var (_, process) in _children)
        {
            process.Dispose();
        }

        _children.Clear();
        // The instances keep their own copies of held listeners.
        foreach (var (_, listener) in _listeners)
        {
            listener.Dispose();
        }

        _listeners.Clear();
        return ValueTask.CompletedTask;
    }

    /// <summary>Maps a .NET exit code of a child to the runtime's convention (see the type's remarks).</summary>
    internal static (int? Code, int? Signal) MapExitCode(int exitCode) =>
        exitCode is > 128 and <= 128 + 64 ? (null, exitCode - 128) : (exitCode, null);

    private async Task<ExitInfo> WatchChildAsync(int pid, Process process)
    {
        try
        {
            await process.WaitForExitAsync(_disposed.Token).ConfigureAwait(false);
            var (code, signal) = MapExitCode(process.ExitCode);
            var info = new ExitInfo(code, signal, _time.GetUtcNow());
            LogExited(pid, info.ToString());
            return info;
        }
        finally
        {
            // Keyed by pid, which the kernel may already have given to a newer child: remove only our own entry.
            if (_children.TryRemove(new KeyValuePair<int, Process>(pid, process)))
            {
                process.Dispose();
            }
        }
    }

    private void WatchAdopted(int pid, long startTicks, int pidfd, TaskCompletionSource<ExitInfo> tcs, CancellationToken token)
    {
        try
        {
            while (!token.IsCancellationRequested)
            {
                bool ended;
                if (pidfd >= 0)
                {
                    // The timeout only bounds how long disposal waits; readiness wakes us the moment the process ends.
                    ended = LibC.PollReadable(pidfd, 250);
                }
                else
                {
                    ended = ProcFs.ReadStat(pid) is not { } s || s.StartTicks != startTicks || s.HasEnded;
                    if (!ended)
                    {
                        token.WaitHandle.WaitOne(PollFallbackPeriod);
                    }
                }

                if (ended)
                {
                    var info = new ExitInfo(null, null, _time.GetUtcNow());
                    LogExited(pid, "ended (adopted, exit status unknown)");
                    tcs.TrySetResult(info);
                    return;
                }
            }

            tcs.TrySetCanceled(token);
        }
        catch (Exception e)
        {
            tcs.TrySetException(e);
        }
        finally
        {
            if (pidfd >= 0)
            {
                LibC.Close(pidfd);
            }
        }
    }

    private void SignalGroup(IProcessHandle handle, int signal)
    {
        if (!IsStillSame(handle))
        {
            return;
        }

        // Instances are session and group leaders (pgid == pid); signalling the group reaches their children too.
        if (LibC.Kill(-handle.Pid, signal) == LibC.ESRCH)
        {
            _ = LibC.Kill(handle.Pid, signal);
        }
    }

    /// <summary>Guards against signalling a recycled pid.</summary>
    private static bool IsStillSame(IProcessHandle handle)
    {
        if (handle.Exited.IsCompleted)
        {
            return false;
        }

        if (handle is ProcessHandle { IsChild: true })
        {
            // An unreaped child's pid cannot be reused.
            return true;
        }

        return ProcFs.StartTicksOf(handle.Pid) == handle.StartTicks;
    }

    private static string? ResolveCommand(LaunchRequest request, string? workDir)
    {
        var cmd = request.Command;
        if (string.IsNullOrWhiteSpace(cmd))
        {
            return null;
        }

        if (cmd.Contains('/', StringComparison.Ordinal))
        {
            var full = Path.IsPathRooted(cmd) ? cmd : Path.GetFullPath(cmd, workDir ?? Directory.GetCurrentDirectory());
            return IsRunnable(full) ? full : null;
        }

        var path = request.Env.TryGetValue("PATH", out var p) ? p : Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        foreach (var dir in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(Path.GetFullPath(dir, workDir ?? Directory.GetCurrentDirectory()), cmd);
            if (IsRunnable(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool IsRunnable(string path) => File.Exists(path) && LibC.IsExecutable(path);

    private static bool IsPortFree(int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, port);
        try
        {
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
        finally
        {
            listener.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Started instance {InstanceId} as pid {Pid} ({Command}), logging to {LogPath}")]
    private partial void LogStarted(string instanceId, int pid, string command, string logPath);

    [LoggerMessage(Level = LogLevel.Information, Message = "Adopted pid {Pid} (start ticks {StartTicks})")]
    private partial void LogAdopted(int pid, long startTicks);

    [LoggerMessage(Level = LogLevel.Warning, Message = "pidfd_open failed for pid {Pid}; watching it by polling /proc")]
    private partial void LogPidfdUnavailable(int pid);

    [LoggerMessage(Level = LogLevel.Information, Message = "Process {Pid} {Outcome}")]
    private partial void LogExited(int pid, string outcome);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Process {Pid} outlived its {GraceMs} ms grace period; sending SIGKILL to its group")]
    private partial void LogKilledAfterGrace(int pid, double graceMs);
}
