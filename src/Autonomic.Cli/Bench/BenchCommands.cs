using System.CommandLine;
using System.Globalization;

namespace Autonomic.Cli.Bench;

/// <summary>
/// The <c>autonomic bench</c> command group. <c>bench recovery</c> measures, in one run on this machine, how
/// long the same HTTP service stays down after a crash or a hang when supervised by Autonomic and by
/// supervisord, runit, s6 and monit, and prints a Markdown table (optionally JSON and Markdown files).
/// </summary>
public static class BenchCommands
{
    /// <summary>Builds the <c>bench</c> command with its <c>recovery</c> and <c>bus</c> subcommands.</summary>
    public static Command Create()
    {
        var bench = new Command("bench", "Benchmarks that compare Autonomic with other process supervisors on this machine.");
        bench.Subcommands.Add(CreateRecovery());
        bench.Subcommands.Add(BusBenchmark.Create());
        bench.Subcommands.Add(ScalingBenchmark.Create());
        bench.Subcommands.Add(SecurityBenchmark.Create());
        bench.Subcommands.Add(ApiBenchmark.Create());
        return bench;
    }

    /// <summary>
    /// Why a peer supervisor cannot run here (its missing binaries and the Debian package to install),
    /// or null when it is installed or needs nothing external (autonomic).
    /// </summary>
    public static string? MissingPeer(string system) => RecoveryBenchmark.MissingRequirement(system);

    private static Command CreateRecovery()
    {
        var trials = new Option<int>("--trials") { Description = "Trials per system and fault.", DefaultValueFactory = _ => 20 };
        var systems = new Option<string>("--systems")
        {
            Description = "Comma-separated systems: autonomic, supervisord, runit, s6, monit.",
            DefaultValueFactory = _ => string.Join(',', RecoveryBenchmark.AllSystems),
        };
        var faults = new Option<string>("--faults")
        {
            Description = "Comma-separated faults: crash (SIGKILL), hang (SIGSTOP).",
            DefaultValueFactory = _ => string.Join(',', RecoveryBenchmark.AllFaults),
        };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the rows as JSON to this file." };
        var md = new Option<FileInfo?>("--md") { Description = "Also write the Markdown table to this file." };
        var serviceCommand = new Option<string?>("--service-command")
        {
            Description = "Command template of the supervised service, with {port}; default: the autonomic-workload beside this executable.",
        };
        var healthPath = new Option<string>("--health-path")
        {
            Description = "HTTP path that answers 200 when the service is healthy.",
            DefaultValueFactory = _ => "/healthz",
        };
        var recoveryTimeout = new Option<double?>("--recovery-timeout")
        {
            Description = "Seconds after a fault before a trial counts as not recovered (default 10 for crash, 8 for hang).",
        };
        var skipMissing = new Option<bool>("--skip-missing") { Description = "Skip systems whose binaries are not installed instead of failing." };
        var noActivation = new Option<bool>("--no-socket-activation")
        {
            Description = "Run Autonomic's service without socket activation (every system then restarts a plain process).",
        };
        var settle = new Option<double>("--settle")
        {
            Description = "Seconds the service stays up between a recovery and the next fault (the same for every system).",
            DefaultValueFactory = _ => 2.5,
        };

        var command = new Command("recovery", "Downtime after crash and hang faults, Autonomic vs supervisord, runit, s6 and monit.")
        {
            trials, systems, faults, json, md, serviceCommand, healthPath, recoveryTimeout, skipMissing, settle, noActivation,
        };
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            var timeout = r.GetValue(recoveryTimeout);
            var options = new RecoveryBenchOptions(
                Split(r.GetValue(systems)),
                Split(r.GetValue(faults)),
                r.GetValue(trials),
                TimeSpan.FromSeconds(timeout ?? 10),
                TimeSpan.FromSeconds(timeout ?? 8),
                r.GetValue(serviceCommand),
                r.GetValue(healthPath) ?? "/healthz",
                r.GetValue(skipMissing),
                TimeSpan.FromSeconds(Math.Max(0, r.GetValue(settle))),
                !r.GetValue(noActivation));
            return await RunRecoveryAsync(options, r.GetValue(json), r.GetValue(md), Console.Out, Console.Error, ct);
        });
        return command;
    }

    internal static async Task<int> RunRecoveryAsync(
        RecoveryBenchOptions options, FileInfo? json, FileInfo? md, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var unknown = options.Systems.Except(RecoveryBenchmark.AllSystems)
            .Concat(options.Faults.Except(RecoveryBenchmark.AllFaults)).ToList();
        if (unknown.Count > 0 || options.Trials < 1)
        {
            await stderr.WriteLineAsync(unknown.Count > 0
                ? $"error: unknown system or fault: {string.Join(", ", unknown)}"
                : "error: --trials must be at least 1");
            return 2;
        }

        var systems = new List<string>();
        foreach (var system in options.Systems)
        {
            if (RecoveryBenchmark.MissingRequirement(system) is { } missing)
            {
                await stderr.WriteLineAsync((options.SkipMissing ? "skipping " : "error: ") + missing);
                if (!options.SkipMissing)
                {
                    return 1;
                }

                continue;
            }

            systems.Add(system);
        }

        try
        {
            var benchmark = new RecoveryBenchmark(options, TimeProvider.System, stderr);
            var rows = await benchmark.RunAsync(systems, ct);
            var table = BenchReport.ToMarkdown(rows);
            await stdout.WriteAsync(table);
            if (json is not null)
            {
                await File.WriteAllTextAsync(json.FullName, BenchReport.ToJson(rows), CancellationToken.None);
            }

            if (md is not null)
            {
                await File.WriteAllTextAsync(md.FullName, table, CancellationToken.None);
            }

            return 0;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await stderr.WriteLineAsync("bench recovery: cancelled; children stopped.");
            return 130;
        }
        catch (InvalidOperationException e)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return 1;
        }
        finally
        {
            ChildProcess.KillAllGroups();
        }
    }

    private static List<string> Split(string? value) =>
        (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => v.ToLower(CultureInfo.InvariantCulture)).Distinct().ToList();
}
