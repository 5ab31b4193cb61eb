using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Autonomic.Agents.Security;
using Autonomic.Agents.Security.Rules;
using Autonomic.Agents.Security.Sources;
using Autonomic.Core.Security;

namespace Autonomic.Cli.Bench;

/// <summary>The SSH part: offending addresses by fail2ban (its sshd filter and its own failure manager) and by Autonomic.</summary>
public sealed record SshResult(
    [property: JsonPropertyName("fail2ban_ips")] IReadOnlyList<string>? Fail2banIps,
    [property: JsonPropertyName("autonomic_ips")] IReadOnlyList<string> AutonomicIps,
    [property: JsonPropertyName("only_fail2ban")] IReadOnlyList<string> OnlyFail2ban,
    [property: JsonPropertyName("only_autonomic")] IReadOnlyList<string> OnlyAutonomic,
    [property: JsonPropertyName("fail2ban_failures")] int? Fail2banFailures,
    [property: JsonPropertyName("autonomic_failures")] int AutonomicFailures,
    [property: JsonPropertyName("fail2ban_error")] string? Fail2banError);

/// <summary>One scanner log: requests, how many were put in an attack class, and whether the scanner's address was flagged.</summary>
public sealed record ScannerResult(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("requests")] int Requests,
    [property: JsonPropertyName("classified")] int Classified,
    [property: JsonPropertyName("signature_classified")] int SignatureClassified,
    [property: JsonPropertyName("source")] string? Source,
    [property: JsonPropertyName("source_detected")] bool SourceDetected,
    [property: JsonPropertyName("classes")] IReadOnlyDictionary<string, int> Classes);

/// <summary>One mostly-benign log: lines and the alerts raised on it (template novelty reported apart).</summary>
public sealed record BenignResult(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("lines")] int Lines,
    [property: JsonPropertyName("false_alarms")] int FalseAlarms,
    [property: JsonPropertyName("alarms_by_rule")] IReadOnlyDictionary<string, int> ByRule,
    [property: JsonPropertyName("novel_templates")] int NovelTemplates);

/// <summary>The whole result of <c>autonomic bench security</c>.</summary>
public sealed record SecurityBenchResult(
    [property: JsonPropertyName("ssh")] SshResult? Ssh,
    [property: JsonPropertyName("scanners")] IReadOnlyList<ScannerResult> Scanners,
    [property: JsonPropertyName("benign")] IReadOnlyList<BenignResult> Benign,
    [property: JsonPropertyName("lines_per_s")] double LinesPerSecond,
    [property: JsonPropertyName("throughput_lines")] long ThroughputLines,
    [property: JsonPropertyName("lines_per_cpu_s")] double LinesPerCpuSecond);

/// <summary>
/// <c>autonomic bench security</c>: detection quality and speed on real logs. SSH brute force against fail2ban run in
/// the same pass (its own sshd filter through <c>fail2ban-regex</c>, its own FailManager for maxretry 5 / findtime 10 min);
/// web-scanner logs (share of requests classified, scanner address flagged); mostly-benign logs (false alarms); and
/// lines per second through parsing and every detector.
/// </summary>
public static class SecurityBenchmark
{
    public const int MaxRetry = 5;
    public const int FindTimeSeconds = 600;
    // loghub's syslog lines have no year; any fixed year works since only differences count (fail2ban assumes its own).
    private const int LogYear = 2015;

    public static Command Create()
    {
        var data = new Option<DirectoryInfo?>("--data") { Description = "Directory with the data sets (default: ../shared/data when present)." };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the result as JSON to this file." };
        var md = new Option<FileInfo?>("--md") { Description = "Also write the Markdown table to this file." };
        var seconds = new Option<double>("--seconds") { Description = "How long the throughput run lasts.", DefaultValueFactory = _ => 2 };
        var command = new Command("security", "Attack detection on real logs: SSH brute force vs fail2ban, web scanners, false alarms, lines/s.")
        {
            data, json, md, seconds,
        };
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            var dir = r.GetValue(data)?.FullName ?? DefaultDataDirectory();
            if (dir is null || !Directory.Exists(dir))
            {
                await Console.Error.WriteLineAsync($"error: no data directory ({dir ?? "../shared/data not found"}); pass --data DIR");
                return 2;
            }

            var result = await RunAsync(dir, TimeSpan.FromSeconds(Math.Clamp(r.GetValue(seconds), 0.05, 60)), Console.Error, ct);
            var table = ToMarkdown(result);
            await Console.Out.WriteAsync(table);
            if (r.GetValue(json) is { } j)
            {
                await File.WriteAllTextAsync(j.FullName, ToJson(result), CancellationToken.None);
            }

            if (r.GetValue(md) is { } m)
            {
                await File.WriteAllTextAsync(m.FullName, table, CancellationToken.None);
            }

            return 0;
        });
        return command;
    }

    public static string? DefaultDataDirectory()
    {
        foreach (var candidate in new[] { Path.Combine("..", "shared", "data"), Path.Combine("..", "..", "shared", "data") })
        {
            if (Directory.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        return null;
    }

    public static string ToJson(SecurityBenchResult result) => JsonSerializer.Serialize(result, new JsonSerializerOptions { WriteIndented = true });

    /// <summary>Runs every part whose input is present under <paramref name="dataDir"/>.</summary>
    public static async Task<SecurityBenchResult> RunAsync(string dataDir, TimeSpan throughputTime, TextWriter log, CancellationToken ct)
    {
        var pack = RulePack.Default();
        SshResult? ssh = null;
        var sshLog = Path.Combine(dataDir, "loghub-OpenSSH", "OpenSSH_2k.log");
        if (File.Exists(sshLog))
        {
            ssh = await RunSshAsync(sshLog, pack, ct);
        }

        var scanners = new List<ScannerResult>();
        var scannerDir = Path.Combine(dataDir, "apache-scanner-attack-logs");
        if (Directory.Exists(scannerDir))
        {
            foreach (var file in Directory.EnumerateFiles(scannerDir, "*.txt").Order(StringComparer.Ordinal))
            {
                scanners.Add(RunScanner(file, pack));
            }
        }

        var benign = new List<BenignResult>();
        foreach (var (file, format) in new[]
                 {
                     (Path.Combine(dataDir, "loghub-Apache", "Apache_2k.log"), "apache_error"),
                     (Path.Combine(dataDir, "loghub-Linux", "Linux_2k.log"), "syslog"),
                 })
        {
            if (File.Exists(file))
            {
                benign.Add(RunBenign(file, format, pack));
            }
        }

        var inputs = new List<(string Line, string Format)>();
        if (File.Exists(sshLog))
        {
            inputs.AddRange(File.ReadLines(sshLog).Select(l => (l, "sshd")));
        }

        if (Directory.Exists(scannerDir))
        {
            inputs.AddRange(Directory.EnumerateFiles(scannerDir, "*.txt").Order(StringComparer.Ordinal).SelectMany(f => File.ReadLines(f)).Select(l => (l, "access")));
        }

        foreach (var b in benign)
        {
            inputs.AddRange(File.ReadLines(Path.Combine(dataDir, b.File)).Select(l => (l, b.File.Contains("Apache", StringComparison.Ordinal) ? "apache_error" : "syslog")));
        }

        var (rate, lines, cpuRate) = Throughput(inputs, pack, throughputTime);
        await log.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"bench security: {lines} lines in the throughput run, {rate:0} lines/s ({cpuRate:0} per CPU second)"));
        return new SecurityBenchResult(ssh, scanners, benign, Math.Round(rate), lines, Math.Round(cpuRate));
    }

    private static async Task<SshResult> RunSshAsync(string logFile, RulePack pack, CancellationToken ct)
    {
        var rule = pack.Rules.First(r => r.Id == "sshd-bruteforce") with { MaxRetry = MaxRetry, FindTime = TimeSpan.FromSeconds(FindTimeSeconds) };
        var pipeline = new SecurityPipeline(new RulePack([rule]), LogYear, anomalies: false);
        var ours = new SortedSet<string>(StringComparer.Ordinal);
        int failures = 0;
        var alerts = new List<SecurityAlert>();
        foreach (var line in File.ReadLines(logFile))
        {
            if (pipeline.Parse(line, "sshd", "sshd") is not { } evt)
            {
                continue;
            }

            failures += evt.Is(LogEventKind.AuthFailure) ? evt.Count : 0;
            alerts.Clear();
            pipeline.Observe(evt, alerts);
            foreach (var a in alerts)
            {
                if (a.Rule == rule.Id && a.SourceIp is { } ip)
                {
                    ours.Add(ip);
                }
            }
        }

        var (theirs, theirFailures, error) = await Fail2banAsync(logFile, ct);
        var theirSet = theirs is null ? [] : new SortedSet<string>(theirs, StringComparer.Ordinal);
        return new SshResult(
            theirs is null ? null : [.. theirSet],
            [.. ours],
            [.. theirSet.Except(ours)],
            theirs is null ? [] : [.. ours.Except(theirSet)],
            theirFailures,
            failures,
            error);
    }

    // fail2ban's own failure manager over the failures its sshd filter found (fail2ban-regex -o row prints ip and time).
    private const string Fail2banManager = """
        import ast, sys
        from fail2ban.server.failmanager import FailManager, FailManagerEmpty
        from fail2ban.server.ticket import FailTicket
        from fail2ban.server.mytime import MyTime
        fm = FailManager(); fm.setMaxRetry(int(sys.argv[1])); fm.setMaxTime(int(sys.argv[2]))
        banned = set(); failures = 0; next_svc = 0
        for line in sys.stdin:
            line = line.strip().rstrip(',')
            if not line.startswith('['):
                continue
            row = ast.literal_eval(line)
            ip, t = row[0], float(row[1])
            failures += 1
            MyTime.setTime(t)
            if fm.addFailure(FailTicket(ip, t)) >= fm.getMaxRetry():
                try:
                    fm.toBan(ip); banned.add(ip)
                except FailManagerEmpty:
                    pass
            if t >= next_svc:  # the filter's performSvc: clean up at most every 5 s
                next_svc = t + 5; fm.cleanup(t)
        print("failures", failures)
        for ip in sorted(banned):
            print(ip)
        """;

    /// <summary>The addresses fail2ban bans on <paramref name="logFile"/>; null with a reason when it is not installed.</summary>
    public static async Task<(IReadOnlyList<string>? Ips, int? Failures, string? Error)> Fail2banAsync(string logFile, CancellationToken ct)
    {
        if (!File.Exists("/usr/bin/fail2ban-regex"))
        {
            return (null, null, "fail2ban is not installed (apt-get install fail2ban)");
        }

        var rows = await RunAsync("/usr/bin/fail2ban-regex", ["-o", "row", logFile, "sshd"], null, ct);
        if (rows.Code != 0)
        {
            return (null, null, "fail2ban-regex failed: " + rows.Error.Trim());
        }

        var managed = await RunAsync("/usr/bin/python3", ["-c", Fail2banManager, MaxRetry.ToString(CultureInfo.InvariantCulture), FindTimeSeconds.ToString(CultureInfo.InvariantCulture)], rows.Output, ct);
        if (managed.Code != 0)
        {
            return (null, null, "fail2ban's failure manager failed: " + managed.Error.Trim());
        }

        var lines = managed.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int failures = int.Parse(lines[0]["failures ".Length..], CultureInfo.InvariantCulture);
        return (lines[1..], failures, null);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string file, string[] args, string? input, CancellationToken ct)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = input is not null, UseShellExecute = false };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        var output = process.StandardOutput.ReadToEndAsync(ct);
        var error = process.StandardError.ReadToEndAsync(ct);
        if (input is not null)
        {
            await process.StandardInput.WriteAsync(input);
            process.StandardInput.Close();
        }

        await process.WaitForExitAsync(ct);
        return (process.ExitCode, await output, await error);
    }

    private static ScannerResult RunScanner(string file, RulePack pack)
    {
        var pipeline = new SecurityPipeline(pack, LogYear, anomalies: false);
        var alerts = new List<SecurityAlert>();
        var bySource = new Dictionary<string, int>(StringComparer.Ordinal);
        var classes = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var flagged = new HashSet<string>(StringComparer.Ordinal);
        int requests = 0, classified = 0, signature = 0;
        foreach (var line in File.ReadLines(file))
        {
            if (pipeline.Parse(line, "access", file) is not { } evt)
            {
                continue;
            }

            requests++;
            bySource[evt.SourceIp!] = bySource.GetValueOrDefault(evt.SourceIp!) + 1;
            alerts.Clear();
            var c = pipeline.Observe(evt, alerts);
            if (c.Class is { } cls)
            {
                classified++;
                signature += c.Attributed ? 0 : 1;
                classes[cls] = classes.GetValueOrDefault(cls) + 1;
            }

            foreach (var a in alerts)
            {
                if (a.Response is "block" or "rate_limit" && a.SourceIp is { } ip)
                {
                    flagged.Add(ip);
                }
            }
        }

        var source = bySource.Count == 0 ? null : bySource.MaxBy(kv => kv.Value).Key;
        return new ScannerResult(Path.GetFileName(file), requests, classified, signature, source, source is not null && flagged.Contains(source), classes);
    }

    private static BenignResult RunBenign(string file, string format, RulePack pack)
    {
        var pipeline = new SecurityPipeline(pack, LogYear);
        var alerts = new List<SecurityAlert>();
        int lines = 0;
        foreach (var line in File.ReadLines(file))
        {
            lines++;
            if (pipeline.Parse(line, format, file) is { } evt)
            {
                pipeline.Observe(evt, alerts);
            }
        }

        var alarms = alerts.Where(a => a.Class != "novel_log").ToList();
        var byRule = alarms.GroupBy(a => a.Rule).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var relative = Path.GetRelativePath(Path.GetDirectoryName(Path.GetDirectoryName(file)!)!, file);
        return new BenignResult(relative, lines, alarms.Count, byRule, alerts.Count - alarms.Count);
    }

    /// <summary>Lines per second through parsing and every detector, on one thread.</summary>
    public static (double Rate, long Lines, double CpuRate) Throughput(IReadOnlyList<(string Line, string Format)> inputs, RulePack pack, TimeSpan duration)
    {
        if (inputs.Count == 0)
        {
            return (0, 0, 0);
        }

        var alerts = new List<SecurityAlert>();
        long lines = 0;
        // One long-lived pipeline, as in the agent; the first pass warms it up (JIT, baseline training) untimed.
        var pipeline = new SecurityPipeline(pack, LogYear);
        foreach (var (line, format) in inputs)
        {
            if (pipeline.Parse(line, format, format) is { } evt)
            {
                pipeline.Observe(evt, alerts);
            }

            alerts.Clear();
        }

        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < duration)
        {
            foreach (var (line, format) in inputs)
            {
                if (pipeline.Parse(line, format, format) is { } evt)
                {
                    pipeline.Observe(evt, alerts);
                }

                alerts.Clear();
            }

            lines += inputs.Count;
        }

        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds;
        return (lines / watch.Elapsed.TotalSeconds, lines, cpuSeconds > 0 ? lines / cpuSeconds : 0);
    }

    public static string ToMarkdown(SecurityBenchResult r)
    {
        var s = new StringBuilder();
        var ci = CultureInfo.InvariantCulture;
        if (r.Ssh is { } ssh)
        {
            s.AppendLine("| SSH brute force (OpenSSH_2k, maxretry 5, findtime 10 min) | fail2ban | Autonomic |");
            s.AppendLine("|---|---|---|");
            s.AppendLine(ci, $"| failures counted | {(ssh.Fail2banFailures?.ToString(ci) ?? "n/a")} | {ssh.AutonomicFailures} |");
            s.AppendLine(ci, $"| offending IPs | {(ssh.Fail2banIps?.Count.ToString(ci) ?? "n/a: " + ssh.Fail2banError)} | {ssh.AutonomicIps.Count} |");
            s.AppendLine(ci, $"| found only by this one | {string.Join(", ", ssh.OnlyFail2ban.DefaultIfEmpty("-"))} | {string.Join(", ", ssh.OnlyAutonomic.DefaultIfEmpty("-"))} |");
            s.AppendLine();
        }

        if (r.Scanners.Count > 0)
        {
            s.AppendLine("| scanner log | requests | classified | share | by signature alone | scanner address flagged |");
            s.AppendLine("|---|---|---|---|---|---|");
            foreach (var x in r.Scanners)
            {
                s.AppendLine(ci, $"| {x.File} | {x.Requests} | {x.Classified} | {Share(x.Classified, x.Requests)} | {Share(x.SignatureClassified, x.Requests)} | {(x.SourceDetected ? "yes" : "no")} ({x.Source}) |");
            }

            s.AppendLine();
        }

        if (r.Benign.Count > 0)
        {
            s.AppendLine("| mostly-benign log | lines | false alarms | novel templates (not alarms) |");
            s.AppendLine("|---|---|---|---|");
            foreach (var b in r.Benign)
            {
                s.AppendLine(ci, $"| {b.File} | {b.Lines} | {b.FalseAlarms}{(b.ByRule.Count > 0 ? " (" + string.Join(", ", b.ByRule.Select(kv => $"{kv.Key}: {kv.Value}")) + ")" : "")} | {b.NovelTemplates} |");
            }

            s.AppendLine();
        }

        s.AppendLine(ci, $"Throughput: {r.LinesPerSecond:0} lines/s wall clock, {r.LinesPerCpuSecond:0} lines per CPU second (parsing and every detector, one thread, {r.ThroughputLines} lines).");
        return s.ToString();
    }

    private static string Share(int part, int whole) => whole == 0 ? "-" : (100.0 * part / whole).ToString("0.0", CultureInfo.InvariantCulture) + " %";
}
