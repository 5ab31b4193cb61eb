using System.Collections.Concurrent;
using System.Diagnostics;

namespace Autonomic.Cli.Bench;

/// <summary>
/// A child started in its own session (via setsid), so that the whole group it spawns can be killed by one
/// signal, and so that a terminal Ctrl-C reaches only the benchmark, which then cleans up in order.
/// Output is drained (never left to fill a pipe) and the tail is kept for error messages.
/// </summary>
internal sealed class ChildProcess : IDisposable
{
    private static readonly ConcurrentDictionary<int, byte> LiveGroups = new();
    private static int _exitHookInstalled;

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _tail = new();

    private ChildProcess(Process process)
    {
        _process = process;
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Tail => string.Join('\n', _tail);

    public static ChildProcess Start(
        string file, IEnumerable<string> args, string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? env = null)
    {
        InstallExitHook();
        var psi = new ProcessStartInfo("/usr/bin/setsid")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        psi.ArgumentList.Add(file);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        if (env is not null)
        {
            foreach (var (k, v) in env)
            {
                psi.Environment[k] = v;
            }
        }

        var process = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        var child = new ChildProcess(process);
        LiveGroups[process.Id] = 0;
        process.StandardInput.Close();
        process.OutputDataReceived += (_, e) => child.Keep(e.Data);
        process.ErrorDataReceived += (_, e) => child.Keep(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Runs a short command to completion (a supervisor's own control tool) and returns its output.</summary>
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string file, IEnumerable<string> args, TimeSpan timeout, CancellationToken ct)
    {
        using var child = Start(file, args);
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        try
        {
            await child._process.WaitForExitAsync(cts.Token);
            child._process.WaitForExit(); // flushes the asynchronous output readers
            return (child._process.ExitCode, child.Tail);
        }
        catch (OperationCanceledException)
        {
            child.KillGroup();
            return (-1, child.Tail);
        }
    }

    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public void Signal(int signal) => Posix.Signal(_process.Id, signal);

    /// <summary>Kills the session's process group; anything that escaped it (setsid/daemonised) is the caller's job.</summary>
    public void KillGroup()
    {
        Posix.Signal(-_process.Id, Posix.SigKill);
        Posix.Signal(_process.Id, Posix.SigKill);
        LiveGroups.TryRemove(_process.Id, out _);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            KillGroup();
        }
        else
        {
            // The leader may be gone while group members linger.
            Posix.Signal(-_process.Id, Posix.SigKill);
            LiveGroups.TryRemove(_process.Id, out _);
        }

        _process.Dispose();
    }

    private void Keep(string? line)
    {
        if (line is null)
        {
            return;
        }

        _tail.Enqueue(line);
        while (_tail.Count > 40 && _tail.TryDequeue(out _))
        {
        }
    }

    /// <summary>Last resort when the process exits without running finally blocks (e.g. a forced exit after Ctrl-C).</summary>
    private static void InstallExitHook()
    {
        if (Interlocked.Exchange(ref _exitHookInstalled, 1) == 0)
        {
            AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAllGroups();
        }
    }

    internal static void KillAllGroups()
    {
        foreach (var pid in LiveGroups.Keys)
        {
            Posix.Signal(-pid, Posix.SigKill);
            Posix.Signal(pid, Posix.SigKill);
        }

        LiveGroups.Clear();
    }
}
