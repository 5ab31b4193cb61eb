using Autonomic.Agents.Security;
using Autonomic.Agents.Security.Detectors;
using Autonomic.Agents.Security.Rules;
using Autonomic.Agents.Security.Sources;
using Autonomic.Cli.Bench;
using Autonomic.Core.Security;

namespace Autonomic.Integration.Tests.Security;

public sealed class DetectionTests
{
    private static SortedSet<string> OurBans(string file)
    {
        var rule = RulePack.Default().Rules.Single(r => r.Id == "sshd-bruteforce");
        var pipeline = new SecurityPipeline(new RulePack([rule]), 2015, anomalies: false);
        var alerts = new List<SecurityAlert>();
        foreach (var line in File.ReadLines(file))
        {
            if (pipeline.Parse(line, "sshd", "sshd") is { } evt)
            {
                pipeline.Observe(evt, alerts);
            }
        }

        return new SortedSet<string>(alerts.Select(a => a.SourceIp!), StringComparer.Ordinal);
    }

    [Fact]
    public void SshdParser_ReadsFailuresInvalidUsersRepeatsAndSessionAddresses()
    {
        var parser = new SshdParser(2015);

        var failed = parser.Parse("Dec 10 06:55:48 LabSZ sshd[24200]: Failed password for invalid user webmaster from 173.234.31.186 port 38926 ssh2")!;
        var repeated = parser.Parse("Dec 10 07:13:56 LabSZ sshd[24227]: message repeated 5 times: [ Failed password for root from 5.36.59.76 port 42393 ssh2]")!;
        var disconnect = parser.Parse("Dec 10 07:13:56 LabSZ sshd[24227]: Disconnecting: Too many authentication failures for root [preauth]")!;
        var pubkey = parser.Parse("Dec 10 07:14:00 LabSZ sshd[24300]: Failed publickey for root from 10.0.0.9 port 22 ssh2")!;
        var accepted = parser.Parse("Dec 10 09:32:20 LabSZ sshd[24680]: Accepted password for fztu from 119.137.62.142 port 49116 ssh2")!;

        Assert.Equal(LogEventKind.AuthFailure | LogEventKind.InvalidUser, failed.Kind);
        Assert.Equal("173.234.31.186", failed.SourceIp);
        Assert.Equal("webmaster", failed.User);
        Assert.Equal(new DateTimeOffset(2015, 12, 10, 6, 55, 48, TimeSpan.Zero), failed.Time);
        Assert.Equal(5, repeated.Count);
        Assert.True(repeated.Is(LogEventKind.AuthFailure));
        Assert.Equal("5.36.59.76", disconnect.SourceIp);
        Assert.True(disconnect.Is(LogEventKind.AuthFailure));
        Assert.Equal(LogEventKind.None, pubkey.Kind);
        Assert.Equal(LogEventKind.AuthSuccess, accepted.Kind);
        Assert.Null(parser.Parse("Dec 10 09:32:20 LabSZ cron[1]: (root) CMD (true)"));
    }

    [Fact]
    public void SyslogClock_CrossesTheNewYear()
    {
        var parser = new SshdParser(2015);
        var dec = parser.Parse("Dec 31 23:59:59 h sshd[1]: Invalid user a from 1.2.3.4")!;
        var jan = parser.Parse("Jan  1 00:00:01 h sshd[1]: Invalid user a from 1.2.3.4")!;

        Assert.Equal(TimeSpan.FromSeconds(2), jan.Time - dec.Time);
    }

    [Fact]
    public void Threshold_HasFail2bansMaxretryFindtimeSemantics()
    {
        var window = new FailureWindow(5, TimeSpan.FromSeconds(600));
        var t0 = DateTimeOffset.UnixEpoch;

        // Four failures, then the fifth 601 s after the first: not five within 600 s... but fail2ban's rate estimate
        // keeps round(4 / 601 × 600) = 4 and bans on the fifth, so Autonomic bans too.
        Assert.False(window.Add(t0));
        Assert.False(window.Add(t0.AddSeconds(1)));
        Assert.False(window.Add(t0.AddSeconds(2)));
        Assert.False(window.Add(t0.AddSeconds(3)));
        Assert.True(window.Add(t0.AddSeconds(601)));

        var sparse = new FailureWindow(5, TimeSpan.FromSeconds(600));
        for (int i = 0; i < 20; i++)
        {
            // One failure every 11 minutes never reaches 5 within 10 minutes.
            Assert.False(sparse.Add(t0.AddMinutes(11 * i)));
        }

        var burst = new FailureWindow(5, TimeSpan.FromSeconds(600));
        Assert.Equal([false, false, false, false, true], Enumerable.Range(0, 5).Select(i => burst.Add(t0.AddSeconds(599 - i))).ToArray());
    }

    [Fact]
    public async Task OpenSshExcerpt_EveryAddressFail2banBans_IsBannedByAutonomic()
    {
        var file = SecurityData.File("loghub-OpenSSH", "OpenSSH_2k.log");
        var ours = OurBans(file);

        // Computed once with fail2ban 1.0.2 (sshd filter, maxretry 5, findtime 600) on this excerpt.
        string[] expected = ["103.207.39.212", "103.99.0.122", "112.95.230.3", "123.235.32.19", "185.190.58.151", "187.141.143.180", "195.154.37.122", "5.188.10.180"];
        Assert.True(ours.IsSupersetOf(expected), $"missed: {string.Join(", ", expected.Except(ours))}");

        if (SecurityData.Fail2banInstalled)
        {
            // The real peer, run now: its own filter and its own failure manager.
            var (theirs, failures, error) = await SecurityBenchmark.Fail2banAsync(file, CancellationToken.None);
            Assert.Null(error);
            Assert.NotNull(theirs);
            Assert.True(failures > 100);
            Assert.True(ours.IsSupersetOf(theirs), $"fail2ban banned what Autonomic did not: {string.Join(", ", theirs.Except(ours))}");
            Assert.Equal(expected, theirs.Order(StringComparer.Ordinal));
        }
    }

    [Fact]
    public void ScannerExcerpts_AtLeast95PercentClassified_AndTheScannerIsFlagged()
    {
        foreach (var name in new[] { "acunetix.txt", "w3af.txt" })
        {
            var pipeline = new SecurityPipeline(RulePack.Default(), 2015, anomalies: false);
            var alerts = new List<SecurityAlert>();
            int requests = 0, classified = 0;
            foreach (var line in File.ReadLines(SecurityData.File("apache-scanner-attack-logs", name)))
            {
                var evt = pipeline.Parse(line, "access", name);
                Assert.NotNull(evt);
                requests++;
                classified += pipeline.Observe(evt, alerts).Class is null ? 0 : 1;
            }

            Assert.Equal(name == "w3af.txt" ? 300 : 1200, requests);
            Assert.True(classified >= 0.95 * requests, $"{name}: {classified} of {requests} classified");
            Assert.Contains(alerts, a => a.Response == "block" && a.SourceIp!.StartsWith("192.168.4.", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("/index.php?id=1' UNION SELECT password FROM users--", "sqli")]
    [InlineData("/search?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "xss")]
    [InlineData("/download?file=../../../../etc/passwd", "path_traversal")]
    [InlineData("/.env", "probing")]
    [InlineData("/wp-admin/install.php", "probing")]
    [InlineData("/.git/config", "probing")]
    public void MatchRules_ClassifyAttacks(string target, string expected)
    {
        var engine = new SignatureEngine(RulePack.Default());
        var evt = new LogEvent { Kind = LogEventKind.Request, SourceIp = "203.0.113.9", Method = "GET", Target = target, Status = 200, UserAgent = "Mozilla/5.0" };

        Assert.Equal(expected, engine.Classify(evt).Class);
    }

    [Fact]
    public void MatchRules_ClassifyScannerAgents_AndLeaveOrdinaryRequestsAlone()
    {
        var engine = new SignatureEngine(RulePack.Default());
        foreach (var agent in new[] { "sqlmap/1.7", "Mozilla/5.00 (Nikto/2.1.6)", "gobuster/3.6", "WPScan v3.8", "masscan/1.3", "Mozilla/5.0 zgrab/0.x" })
        {
            Assert.Equal("scanner", engine.Classify(new LogEvent { Kind = LogEventKind.Request, Target = "/", Method = "GET", UserAgent = agent, Status = 200 }).Class);
        }

        Assert.Null(engine.Classify(new LogEvent { Kind = LogEventKind.Request, Target = "/api/v1/status?limit=5", Method = "GET", UserAgent = "curl/8.0", Status = 200 }).Class);
    }

    [Fact]
    public void RulePack_UserDirectoryExtendsAndOverrides_AndBadRulesNameFileLineAndField()
    {
        var dir = Directory.CreateTempSubdirectory("autonomic-rules-").FullName;
        File.WriteAllText(Path.Combine(dir, "mine.yaml"), """
            rules:
              - id: internal-admin
                kind: match
                field: path
                any: [/internal/admin]
                class: probing
              - id: sshd-bruteforce
                kind: threshold
                on: [auth_failure]
                maxretry: 3
                findtime: 1m
                class: brute_force
                response: block
            """);

        var pack = RulePack.Load([dir]);

        Assert.Equal(3, pack.Rules.Single(r => r.Id == "sshd-bruteforce").MaxRetry);
        Assert.Equal("probing", new SignatureEngine(pack).Classify(new LogEvent { Kind = LogEventKind.Request, Target = "/internal/admin/x" }).Class);

        var bad = Assert.Throws<RulePackException>(() => RulePack.Parse("rules:\n  - id: x\n    kind: treshold\n    class: c\n", "bad.yaml"));
        Assert.Contains("bad.yaml:3:", bad.Message, StringComparison.Ordinal);
        Assert.Contains("rules.x.kind", bad.Message, StringComparison.Ordinal);
        var regex = Assert.Throws<RulePackException>(() => RulePack.Parse("rules:\n  - id: y\n    kind: match\n    field: path\n    pattern: '(unclosed'\n    class: c\n", "re.yaml"));
        Assert.Contains("rules.y.pattern", regex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Drain_GroupsTemplates_AndFlagsANovelLine()
    {
        var detector = new TemplateNoveltyDetector(warmupLines: 100);
        var alerts = new List<SecurityAlert>();
        var parser = new SecurityPipeline(RulePack.Default(), 2015, anomalies: false);
        foreach (var line in File.ReadLines(SecurityData.File("loghub-OpenSSH", "OpenSSH_2k.log")))
        {
            detector.Observe(parser.Parse(line, "sshd", "sshd")!, alerts);
        }

        var drain = detector.DrainOf("sshd")!;
        // 800 lines of a handful of message kinds: a few dozen templates, not hundreds.
        Assert.InRange(drain.Clusters.Count, 5, 60);
        Assert.Contains(drain.Clusters, c => c.Template.StartsWith("Failed password for", StringComparison.Ordinal) && c.Size > 50);
        int before = alerts.Count;

        var novel = "Dec 10 11:00:00 LabSZ sshd[30000]: error: kex_exchange_identification: banner line contains invalid characters";
        detector.Observe(parser.Parse(novel, "sshd", "sshd")!, alerts);
        var known = "Dec 10 11:00:01 LabSZ sshd[30001]: Failed password for root from 1.2.3.4 port 5555 ssh2";
        detector.Observe(parser.Parse(known, "sshd", "sshd")!, alerts);

        Assert.Equal(before + 1, alerts.Count);
        Assert.Equal("novel_log", alerts[^1].Class);
        Assert.Equal(novel, alerts[^1].Evidence.Single());
    }

    [Fact]
    public void IsolationForest_FlagsTheOutlierClient_NotTheBaseline()
    {
        var random = new Random(7);
        var baseline = new List<double[]>();
        for (int i = 0; i < 400; i++)
        {
            baseline.Add(ClientAnomalyDetector.Features(20 + random.Next(-5, 6), 0.02 * random.NextDouble(), 5 + random.Next(0, 4), 50_000 + random.Next(-5000, 5000), 9 + random.Next(0, 8)));
        }

        var forest = IsolationForest.Train(baseline, seed: 42);
        var outlier = ClientAnomalyDetector.Features(900, 0.85, 700, 900_000, 3);

        // Flagged when above the detector's floor and above every baseline point (so no baseline point is flagged).
        Assert.True(forest.Score(outlier) > 0.6, $"outlier score {forest.Score(outlier)}");
        Assert.True(forest.Score(outlier) > forest.MaxTrainingScore, $"outlier {forest.Score(outlier)} vs baseline max {forest.MaxTrainingScore}");
        Assert.All(baseline, x => Assert.True(forest.Score(x) <= forest.MaxTrainingScore));
        Assert.InRange(baseline.Average(forest.Score), 0.3, 0.55);
        Assert.Equal(forest.Score(outlier), IsolationForest.Train(baseline, seed: 42).Score(outlier));
    }

    [Fact]
    public void KeyMisuse_NewNetwork_AndRateFarAboveBaseline()
    {
        var detector = new KeyMisuseDetector(baselineRequests: 20, baselineMinutes: 3, rateFactor: 10, minRate: 50);
        var alerts = new List<SecurityAlert>();
        var t = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        for (int i = 0; i < 40; i++)
        {
            detector.Observe(new LogEvent { Time = t.AddSeconds(10 * i), KeyId = "k1", SourceIp = "10.1.2." + (i % 200), Status = 200, Kind = LogEventKind.Request }, alerts);
        }

        Assert.Empty(alerts);
        detector.Observe(new LogEvent { Time = t.AddSeconds(401), KeyId = "k1", SourceIp = "198.51.100.7", Status = 200, Kind = LogEventKind.Request }, alerts);
        Assert.Single(alerts);
        Assert.Equal("suspend_key", alerts[0].Response);

        for (int i = 0; i < 100; i++)
        {
            detector.Observe(new LogEvent { Time = t.AddSeconds(420).AddMilliseconds(i), KeyId = "k1", SourceIp = "10.1.2.3", Status = 200, Kind = LogEventKind.Request }, alerts);
        }

        Assert.Equal(2, alerts.Count);
        Assert.Contains("requests this minute", alerts[1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void AccessAndErrorParsers_ReadCombinedCommonAndApacheErrorLines()
    {
        var combined = AccessLogParser.Parse("203.0.113.5 - - [22/Dec/2016:16:30:52 +0300] \"GET /a?q=\"x\" HTTP/1.1\" 404 382 \"-\" \"sqlmap/1.0\"")!;
        var common = AccessLogParser.Parse("10.0.0.1 - bob [01/Jan/2026:00:00:00 +0000] \"POST /login HTTP/1.0\" 401 -")!;
        var error = ApacheErrorParser.Parse("[Sun Dec 04 04:51:18 2005] [error] [client 1.2.3.4] Directory index forbidden by rule: /var/www/html/")!;

        Assert.Equal(("203.0.113.5", "/a?q=\"x\"", 404, "sqlmap/1.0"), (combined.SourceIp, combined.Target, combined.Status, combined.UserAgent));
        Assert.Equal(new DateTimeOffset(2016, 12, 22, 16, 30, 52, TimeSpan.FromHours(3)), combined.Time);
        Assert.Equal(("10.0.0.1", "POST", 401, 0L), (common.SourceIp, common.Method, common.Status, common.Bytes));
        Assert.Equal(("1.2.3.4", LogEventKind.Error), (error.SourceIp, error.Kind));
        Assert.Null(AccessLogParser.Parse("not a log line"));
    }
}
