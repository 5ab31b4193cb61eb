using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Autonomic.Integration.Tests.Workloads;

/// <summary>A real autonomic-workload process started from the test output directory; killed on dispose.</summary>
internal sealed partial class WorkloadProcess : IAsyncDisposable
{
    private readonly ConcurrentQueue<string> _lines = new();

    private WorkloadProcess(Process process)
    {
        Process = process;
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _lines.Enqueue(e.Data);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                _lines.Enqueue("stderr: " + e.Data);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public int Port { get; private set; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}");

    public IReadOnlyCollection<string> Lines => _lines.ToArray();

    /// <summary>The apphost if the build produced one next to the dll, else <c>dotnet autonomic-workload.dll</c>.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        string dir = AppContext.BaseDirectory;
        string dll = Path.Combine(dir, "autonomic-workload.dll");
        Assert.True(File.Exists(dll), $"autonomic-workload.dll not found in {dir}");
        string apphost = Path.Combine(dir, "autonomic-workload");
        var info = File.Exists(apphost) ? new ProcessStartInfo(apphost) : new ProcessStartInfo("dotnet") { ArgumentList = { dll } };
        foreach (string arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        info.UseShellExecute = false;
        info.Environment.Remove("PORT");
        foreach ((string key, string value) in env ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return info;
    }

    /// <summary>Starts the workload on a free port (port 0) and waits for its "listening on" line.</summary>
    public static async Task<WorkloadProcess> StartAsync(string[]? args = null, IReadOnlyDictionary<string, string>? env = null, bool waitListening = true)
    {
        string[] all = args ?? ["--port", "0"];
        var workload = new WorkloadProcess(Process.Start(StartInfo(all, env))!);
        if (waitListening)
        {
            await workload.WaitForLineAsync(ListeningLine(), TimeSpan.FromSeconds(10));
            Match m = workload.Lines.Select(l => ListeningLine().Match(l)).First(m => m.Success);
            workload.Port = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            Assert.Equal(workload.Process.Id, int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture));
        }

        return workload;
    }

    public async Task WaitForLineAsync(Regex pattern, TimeSpan deadline)
    {
        try
        {
            await Eventually.WaitAsync(() => Process.HasExited || _lines.Any(pattern.IsMatch), deadline, pattern.ToString());
        }
        catch (TimeoutException)
        {
        }

        if (Process.HasExited)
        {
            // Output events can trail the exit; this waits until both streams are drained.
            await Process.WaitForExitAsync();
        }

        Assert.True(_lines.Any(pattern.IsMatch), $"expected a line matching {pattern}; output: {string.Join(" | ", Lines)}");
    }

    public HttpClient Client(TimeSpan? timeout = null) => new() { BaseAddress = BaseAddress, Timeout = timeout ?? TimeSpan.FromSeconds(5) };

    public async Task<int> WaitForExitAsync(TimeSpan deadline)
    {
        using var cts = new CancellationTokenSource(deadline);
        await Process.WaitForExitAsync(cts.Token);
        return Process.ExitCode;
    }

    public void Signal(int signal) => Assert.Equal(0, Kill(Process.Id, signal));

    /// <summary>Resident set size read by the test from /proc, independent of the workload's own metric.</summary>
    public long ResidentBytes()
    {
        string[] statm = File.ReadAllText($"/proc/{Process.Id}/statm").Split(' ');
        return long.Parse(statm[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
    }

    /// <summary>The process state letter from /proc/PID/stat (R, S, T, Z...).</summary>
    public char State()
    {
        string stat = File.ReadAllText($"/proc/{Process.Id}/stat");
        return stat[stat.LastIndexOf(')') + 2];
    }

    /// <summary>User plus system CPU time in clock ticks.</summary>
    public long CpuTicks()
    {
        string stat = File.ReadAllText($"/proc/{Process.Id}/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                await Process.WaitForExitAsync();
            }
        }
        catch (InvalidOperationException)
        {
        }

        Process.Dispose();
    }

    [GeneratedRegex(@"^listening on 127\.0\.0\.1:(\d+) pid=(\d+)$")]
    public static partial Regex ListeningLine();

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Kill(int pid, int signal);
}
