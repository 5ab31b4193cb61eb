using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Autonomic.Cli.Bench.Systems;

namespace Autonomic.Cli.Bench;

/// <summary>Settings of one <c>autonomic bench recovery</c> run.</summary>
internal sealed record RecoveryBenchOptions(
    IReadOnlyList<string> Systems,
    IReadOnlyList<string> Faults,
    int Trials,
    TimeSpan CrashRecoveryTimeout,
    TimeSpan HangRecoveryTimeout,
    string? ServiceCommandTemplate,
    string HealthPath,
    bool SkipMissing,
    TimeSpan Settle,
    bool SocketActivation = true);

/// <summary>
/// Runs each supervisor against each fault on a fresh copy of the service, measuring downtime with an
/// external prober, and returns one row per (system, fault).
/// </summary>
internal sealed class RecoveryBenchmark(RecoveryBenchOptions options, TimeProvider time, TextWriter progress)
{
    public const int ExitOnlyHangTrials = 3;

    public static readonly IReadOnlyList<string> AllSystems = ["autonomic", "supervisord", "runit", "s6", "monit"];
    public static readonly IReadOnlyList<string> AllFaults = ["crash", "hang"];

    private static readonly TimeSpan ProbeInterval = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Binaries each peer needs, with the Debian package that provides them.</summary>
    public static readonly IReadOnlyDictionary<string, (string Package, string[] Binaries)> Requirements =
        new Dictionary<string, (string, string[])>
        {
            ["supervisord"] = ("supervisor", ["supervisord", "supervisorctl"]),
            ["runit"] = ("runit", ["runsvdir", "runsv", "sv"]),
            ["s6"] = ("s6", ["s6-svscan", "s6-svscanctl", "s6-svstat"]),
            ["monit"] = ("monit", ["monit"]),
        };

    private readonly long _origin = time.GetTimestamp();
    private readonly HashSet<int> _servicePids = [];

    /// <summary>Names of the missing binaries of a system, with its package; empty when all are present.</summary>
    public static string? MissingRequirement(string system)
    {
        if (!Requirements.TryGetValue(system, out var req))
        {
            return null;
        }

        var missing = req.Binaries.Where(b => !ServiceCommand.ResolveOnPath(b).StartsWith('/')).ToList();
        return missing.Count == 0
            ? null
            : $"{system}: {string.Join(", ", missing)} not found; install the Debian package '{req.Package}' (apt-get install -y --no-install-recommends {req.Package})";
    }

    public async Task<IReadOnlyList<BenchRow>> RunAsync(IReadOnlyList<string> systems, CancellationToken ct)
    {
        var cold = await MeasureColdStartAsync(ct);
        progress.WriteLine(string.Create(CultureInfo.InvariantCulture, $"cold start: {Fmt(cold)} ms (median of 5)"));
        var rows = new List<BenchRow>();
        foreach (var system in systems)
        {
            foreach (var fault in options.Faults)
            {
                rows.Add(await RunPairAsync(system, fault, cold, ct));
            }
        }

        return rows;
    }

    private async Task<BenchRow> RunPairAsync(string systemName, string fault, double? cold, CancellationToken ct)
    {
        var dir = Directory.CreateTempSubdirectory("autonomic-bench-").FullName;
        SupervisedSystem? system = null;
        try
        {
            system = await StartSystemAsync(systemName, dir, ct);
            var hangBlind = fault == "hang" && !system.DetectsHang;
            var trials = hangBlind ? Math.Min(ExitOnlyHangTrials, options.Trials) : options.Trials;
            var timeout = fault == "hang" ? options.HangRecoveryTimeout : options.CrashRecoveryTimeout;
            var note = hangBlind
                ? $"{systemName} restarts only on exit and cannot detect a hung process; hang trials capped at {ExitOnlyHangTrials}"
                : null;
            var downtimes = new List<double?>();
            var pid = await WaitReadyAsync(system, null, ct);
            for (var i = 1; i <= trials; i++)
            {
                var result = await RunTrialAsync(system, pid, fault, timeout, ct);
                downtimes.Add(result.DowntimeMs);
                progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{systemName} {fault} trial {i}/{trials}: {(result.Recovered ? Fmt(result.DowntimeMs) + " ms" : "not recovered")}"));
                if (fault == "hang")
                {
                    Posix.Signal(pid, Posix.SigCont);
                }

                if (i == trials)
                {
                    break;
                }

                var mustChange = fault == "crash" || result.Recovered;
                var next = await TryWaitReadyAsync(system, mustChange ? pid : null, ct);
                if (next is null)
                {
                    progress.WriteLine($"{systemName}: service not healthy again after the trial; restarting {systemName}");
                    await StopSystemAsync(system);
                    system = await StartSystemAsync(systemName, dir, ct);
                    next = await WaitReadyAsync(system, null, ct);
                }

                pid = next.Value;
                // Faults do not come back to back: every system gets the same uptime before the next one (runsv, for
                // one, delays a restart by a second when the service ran for less than a second).
                await Task.Delay(options.Settle, time, ct);
            }

            return BenchRow.FromTrials(systemName, fault, downtimes, cold, note);
        }
        finally
        {
            if (system is not null)
            {
                await StopSystemAsync(system);
            }

            TryDelete(dir);
        }
    }

    private async Task<DowntimeResult> RunTrialAsync(
        SupervisedSystem system, int pid, string fault, TimeSpan timeout, CancellationToken ct)
    {
        var prober = new Prober(system.Port, options.HealthPath, time, _origin, ProbeInterval, ProbeTimeout);
        try
        {
            // Start from a confirmed healthy state seen by the prober itself.
            await Poll.UntilAsync(() => prober.Snapshot().Any(s => s.Ok), TimeSpan.FromSeconds(2),
                TimeSpan.FromMilliseconds(5), time, ct);
            var faultMs = prober.NowMs;
            Posix.Signal(pid, fault == "crash" ? Posix.SigKill : Posix.SigStop);
            await Poll.UntilAsync(() => Downtime.IsSettled(prober.Snapshot(), faultMs, quietMs: 1000),
                timeout, TimeSpan.FromMilliseconds(10), time, ct);
            await prober.DisposeAsync();
            var result = Downtime.Compute(prober.Snapshot(), faultMs);
            return result.Recovered && result.DowntimeMs > timeout.TotalMilliseconds
                ? new DowntimeResult(false, null)
                : result;
        }
        finally
        {
            await prober.DisposeAsync();
        }
    }

    private async Task<SupervisedSystem> StartSystemAsync(string name, string dir, CancellationToken ct)
    {
        var port = FreePort();
        var sub = Directory.CreateDirectory(Path.Combine(dir, $"{name}-{port.ToString(CultureInfo.InvariantCulture)}")).FullName;
        var command = ServiceCommand.FromTemplate(options.ServiceCommandTemplate, port);
        var launch = Path.Combine(sub, "launch.sh");
        File.WriteAllText(launch, command.LaunchScript(port, sub, Path.Combine(sub, "service.log")));
        Posix.SetMode(launch, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var setup = new ServiceSetup(command, port, sub, launch, options.HealthPath, time);
        SupervisedSystem system = name switch
        {
            "autonomic" => new AutonomicSystem(setup, FreePort(), options.SocketActivation),
            "supervisord" => new Supervisord(setup),
            "runit" => new Runit(setup),
            "s6" => new S6(setup),
            "monit" => new Monit(setup, FreePort()),
            _ => throw new ArgumentException($"unknown system '{name}'"),
        };
        try
        {
            await system.StartAsync(ct);
        }
        catch
        {
            await StopSystemAsync(system);
            throw;
        }

        return system;
    }

    private async Task StopSystemAsync(SupervisedSystem system)
    {
        await system.DisposeAsync();

        // Services run in their own sessions under runit, s6, supervisord and monit; make sure none outlives us.
        var port = system.Port.ToString(CultureInfo.InvariantCulture);
        foreach (var pid in _servicePids)
        {
            if (Posix.IsAlive(pid) && Posix.CommandLine(pid).Contains(port, StringComparison.Ordinal))
            {
                Posix.Signal(pid, Posix.SigCont);
                Posix.Signal(pid, Posix.SigKill);
            }
        }

        _servicePids.Clear();
    }

    private async Task<int> WaitReadyAsync(SupervisedSystem system, int? previousPid, CancellationToken ct) =>
        await TryWaitReadyAsync(system, previousPid, ct)
        ?? throw new InvalidOperationException(
            $"{system.Name} did not bring the service up on port {system.Port} within {ReadyTimeout.TotalSeconds} s:\n{system.Diagnostics}");

    /// <summary>
    /// Healthy, with a live pid known to the supervisor (a new one when <paramref name="previousPid"/> is given)
    /// that is still the same, and still healthy, a moment later.
    /// </summary>
    private async Task<int?> TryWaitReadyAsync(SupervisedSystem system, int? previousPid, CancellationToken ct)
    {
        int? ready = null;
        await Poll.UntilAsync(async () =>
        {
            var pid = await system.GetPidAsync(ct);
            if (pid is not { } p || p == previousPid || !Posix.IsAlive(p)
                || !await HealthProbe.GetOkAsync(system.Port, options.HealthPath, ProbeTimeout, ct))
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), time, ct);
            var again = await system.GetPidAsync(ct);
            if (again != p || !Posix.IsAlive(p) || !await HealthProbe.GetOkAsync(system.Port, options.HealthPath, ProbeTimeout, ct))
            {
                return false;
            }

            ready = p;
            return true;
        }, ReadyTimeout, TimeSpan.FromMilliseconds(50), time, ct);
        if (ready is { } r)
        {
            _servicePids.Add(r);
        }

        return ready;
    }

    /// <summary>Median over five direct launches, from process start to the first 200 on the health path.</summary>
    private async Task<double?> MeasureColdStartAsync(CancellationToken ct)
    {
        var samples = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var port = FreePort();
            var dir = Directory.CreateTempSubdirectory("autonomic-bench-cold-").FullName;
            try
            {
                var command = ServiceCommand.FromTemplate(options.ServiceCommandTemplate, port);
                var env = new Dictionary<string, string> { ["PORT"] = port.ToString(CultureInfo.InvariantCulture) };
                var start = time.GetTimestamp();
                using var child = ChildProcess.Start(command.Executable, command.Args, dir, env);
                var ok = await Poll.UntilAsync(
                    () => HealthProbe.GetOkAsync(port, options.HealthPath, ProbeTimeout, ct),
                    ReadyTimeout, TimeSpan.FromMilliseconds(5), time, ct);
                var elapsed = time.GetElapsedTime(start).TotalMilliseconds;
                if (!ok)
                {
                    throw new InvalidOperationException(
                        $"the service never answered 200 on 127.0.0.1:{port}{options.HealthPath}:\n{child.Tail}");
                }

                samples.Add(elapsed);
                child.Signal(Posix.SigTerm);
                if (!await child.WaitForExitAsync(TimeSpan.FromSeconds(5)))
                {
                    child.KillGroup();
                }
            }
            finally
            {
                TryDelete(dir);
            }
        }

        return Percentile.NearestRank(samples, 50);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string Fmt(double? v) => v is { } x ? x.ToString("0.0", CultureInfo.InvariantCulture) : "-";
}
