using System.Net;
using System.Text.Json;
using Autonomic.Agents.Security;
using Autonomic.Backends.Fleet;
using Autonomic.Core.Model;
using Autonomic.Core.Security;
using Autonomic.Core.Specs;

namespace Autonomic.Integration.Tests.Security;

public sealed class ResponseTests
{
    private static readonly Dictionary<string, string?> Env = new() { ["PATH"] = "/usr/bin:/bin" };

    private static SecurityOptions Options(bool dryRun = false, params string[] allow) => SecurityOptions.From(new SecuritySettings
    {
        Allowlist = allow,
        DryRun = dryRun,
        BanTime = TimeSpan.FromMinutes(10),
        BanFactor = 2,
        BanMaxTime = TimeSpan.FromMinutes(60),
    });

    [Fact]
    public void BanPolicy_GrowsByTheFactorUpToMaxTime()
    {
        var policy = new BanPolicy { BanTime = TimeSpan.FromMinutes(10), Factor = 2, MaxTime = TimeSpan.FromHours(1) };

        Assert.Equal(
            [10, 20, 40, 60, 60],
            Enumerable.Range(0, 5).Select(n => policy.Duration(n).TotalMinutes).ToArray());
        Assert.Equal(TimeSpan.FromHours(1), policy.Duration(int.MaxValue));
    }

    [Fact]
    public async Task RepeatOffender_IsBannedLongerEachTime_AndExpiryUnblocks()
    {
        await using var rig = await ResponderRig.CreateAsync(Options());
        var ip = IPAddress.Parse("203.0.113.7");
        var bans = new List<TimeSpan>();
        for (int i = 0; i < 4; i++)
        {
            var record = await rig.Responder.BlockAsync(ResponderRig.Alert("203.0.113.7"), CancellationToken.None);
            Assert.NotNull(record);
            bans.Add(record.Until - record.Since);
            Assert.True(rig.Blocklist.IsBlocked(ip, out var info));
            Assert.Equal(i + 1, info.Count);

            // Still blocked a moment before the end; lifted by the sweep once the time is up.
            rig.Time.Advance(record.Until - rig.Time.GetUtcNow() - TimeSpan.FromSeconds(1));
            Assert.Equal(0, await rig.Responder.ExpireAsync(CancellationToken.None));
            Assert.True(rig.Blocklist.IsBlocked(ip, out _));
            rig.Time.Advance(TimeSpan.FromSeconds(1));
            Assert.False(rig.Blocklist.IsBlocked(ip, out _));
            Assert.Equal(1, await rig.Responder.ExpireAsync(CancellationToken.None));
        }

        Assert.Equal([10, 20, 40, 60], bans.Select(b => b.TotalMinutes).ToArray());
        var stored = JsonSerializer.Deserialize<BlockRecord>((await rig.Docs.GetDocumentAsync(SecurityCollections.Blocks, "203.0.113.7"))!.Json, JsonDefaults.Options)!;
        Assert.False(stored.Active);
        var actions = await rig.State.ListActionsAsync(100);
        Assert.Equal(4, actions.Count(a => a.Kind == "block" && a.Status == ActionStatus.Succeeded));
        Assert.Equal(4, actions.Count(a => a.Kind == "unblock" && a.Rule == "security.expiry"));
        var block = actions.First(a => a.Kind == "block");
        Assert.Equal("security", block.Agent);
        Assert.Contains("Failed password", block.Evidence["line1"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task AllowlistedAddress_IsNeverBlocked()
    {
        await using var rig = await ResponderRig.CreateAsync(Options(false, "10.0.0.0/8", "192.0.2.1"));

        Assert.Null(await rig.Responder.BlockAsync(ResponderRig.Alert("10.20.30.40"), CancellationToken.None));
        Assert.Null(await rig.Responder.BlockAsync(ResponderRig.Alert("192.0.2.1"), CancellationToken.None));
        Assert.NotNull(await rig.Responder.BlockAsync(ResponderRig.Alert("192.0.2.2"), CancellationToken.None));

        Assert.False(rig.Blocklist.IsBlocked(IPAddress.Parse("10.20.30.40"), out _));
        Assert.False(rig.Blocklist.IsBlocked(IPAddress.Parse("::ffff:10.20.30.40"), out _));
        Assert.Null(await rig.Docs.GetDocumentAsync(SecurityCollections.Blocks, "10.20.30.40"));
        var skipped = (await rig.State.ListActionsAsync(100)).Where(a => a.Status == ActionStatus.Skipped).ToList();
        Assert.Equal(2, skipped.Count);
        Assert.All(skipped, a => Assert.Contains("allowlisted", a.Outcome, StringComparison.Ordinal));
    }

    [Fact]
    public async Task DryRun_RecordsTheDecision_ButDoesNotEnforce()
    {
        await using var rig = await ResponderRig.CreateAsync(Options(dryRun: true));
        var responses = new List<CloudEvent>();
        await using var sub = rig.Bus.Subscribe(EventTypes.SecurityResponse, "t", (e, _) =>
        {
            lock (responses)
            {
                responses.Add(e);
            }

            return Task.CompletedTask;
        });

        var record = await rig.Responder.BlockAsync(ResponderRig.Alert("198.51.100.23"), CancellationToken.None);

        Assert.NotNull(record);
        Assert.True(record.DryRun);
        Assert.False(rig.Blocklist.IsBlocked(IPAddress.Parse("198.51.100.23"), out _));
        var action = Assert.Single(await rig.State.ListActionsAsync(10));
        Assert.Equal(ActionStatus.Skipped, action.Status);
        Assert.StartsWith("dry run: would block 198.51.100.23", action.Outcome, StringComparison.Ordinal);
        await Eventually.WaitAsync(() => { lock (responses) { return responses.Count == 1; } }, TimeSpan.FromSeconds(5), "the response event");
        Assert.True(responses[0].Data!.Value.Deserialize<SecurityResponse>(JsonDefaults.Options)!.DryRun);

        // A process that learns of blocks through the bus ignores dry-run ones too.
        var other = new Blocklist(rig.Time);
        other.Apply(responses[0]);
        Assert.Equal(0, other.Count);
    }

    [Fact]
    public async Task SuspendKey_StoresTheFlagTheAuthLayerChecks_AndItExpires()
    {
        await using var rig = await ResponderRig.CreateAsync(Options());

        await rig.Responder.HandleAsync(ResponderRig.Alert("198.51.100.1", "suspend_key", key: "key-42"), CancellationToken.None);

        var doc = await rig.Docs.GetDocumentAsync(SecurityCollections.KeySuspensions, "key-42");
        Assert.NotNull(doc);
        Assert.True(JsonSerializer.Deserialize<KeySuspension>(doc.Json, JsonDefaults.Options)!.Active);
        Assert.NotNull(await rig.Docs.GetDocumentAsync(SecurityCollections.Alerts, (await rig.Docs.ListDocumentsAsync(SecurityCollections.Alerts, 1))[0].Id));
        rig.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(1, await rig.Responder.ExpireAsync(CancellationToken.None));
        doc = await rig.Docs.GetDocumentAsync(SecurityCollections.KeySuspensions, "key-42");
        Assert.False(JsonSerializer.Deserialize<KeySuspension>(doc!.Json, JsonDefaults.Options)!.Active);
    }

    [Fact]
    public void FleetFile_SecuritySection_IsReadWithPositionedErrors()
    {
        var dir = Directory.CreateTempSubdirectory("autonomic-fleet-sec-").FullName;
        var good = Path.Combine(dir, "fleet.yaml");
        File.WriteAllText(good, """
            control_plane:
              security:
                logs:
                  - path: auth.log
                    format: sshd
                allowlist: [10.0.0.0/8, 192.0.2.7]
                dry_run: true
                ban_time: 30s
                ban_factor: 3
                rate_limit: 0.5
                rate_limit_time: 2m
                quarantine_time: 4h
                service_logs: false
            services:
              web:
                command: /bin/true
            """);
        var fleet = FleetFile.Load(good, Env);
        var s = fleet.Settings.Security;
        Assert.Equal(Path.Combine(dir, "auth.log"), s.Logs.Single().Path);
        Assert.Equal("sshd", s.Logs.Single().Format);
        Assert.Equal(["10.0.0.0/8", "192.0.2.7"], s.Allowlist);
        Assert.True(s.DryRun);
        Assert.Equal(TimeSpan.FromSeconds(30), s.BanTime);
        Assert.Equal(3, s.BanFactor);
        Assert.Equal((0.5, TimeSpan.FromMinutes(2), TimeSpan.FromHours(4), false), (s.RateLimit, s.RateLimitTime, s.QuarantineTime, s.ServiceLogs));
        var defaults = new SecuritySettings();
        Assert.Equal((1.0, TimeSpan.FromMinutes(10), TimeSpan.FromHours(1), true), (defaults.RateLimit, defaults.RateLimitTime, defaults.QuarantineTime, defaults.ServiceLogs));

        var badRate = Path.Combine(dir, "bad-rate.yaml");
        File.WriteAllText(badRate, "control_plane:\n  security:\n    ban_time: 1m\n    rate_limit: 0\nservices:\n  web:\n    command: /bin/true\n");
        var rate = Assert.Throws<FleetFileException>(() => FleetFile.Load(badRate, Env));
        Assert.Equal(("control_plane.security.rate_limit", 4), (rate.Field, rate.Line));

        var bad = Path.Combine(dir, "bad.yaml");
        File.WriteAllText(bad, "control_plane:\n  security:\n    allowlist: [10.0.0.0/33]\nservices:\n  web:\n    command: /bin/true\n");
        var e = Assert.Throws<FleetFileException>(() => FleetFile.Load(bad, Env));
        Assert.Contains("control_plane.security.allowlist[0]", e.Message, StringComparison.Ordinal);
        Assert.Contains(":3:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void SecretFile_RefusesFilesOthersCanRead()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("autonomic-secret-").FullName, "token");
        File.WriteAllText(path, "s3cret\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        var e = Assert.Throws<InsecureSecretFileException>(() => SecretFile.Read(path));
        Assert.Contains("chmod 600", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", e.Message, StringComparison.Ordinal);

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Equal("s3cret", SecretFile.Read(path));
    }
}
