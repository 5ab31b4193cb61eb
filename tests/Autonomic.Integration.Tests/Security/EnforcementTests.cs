using System.Net;
using System.Text.Json;
using Autonomic.Agents.Security;
using Autonomic.Agents.Security.Rules;
using Autonomic.Agents.Security.Sources;
using Autonomic.Core.Model;
using Autonomic.Core.Security;
using Autonomic.Core.Specs;

namespace Autonomic.Integration.Tests.Security;

/// <summary>Rate limits and quarantines: decided by the responder, enforced from memory, learned by other processes, lifted on expiry.</summary>
public sealed class EnforcementTests
{
    private static SecurityOptions Options(params string[] allow) => SecurityOptions.From(new SecuritySettings
    {
        Allowlist = allow,
        RateLimit = 2,
        RateLimitTime = TimeSpan.FromMinutes(5),
        QuarantineTime = TimeSpan.FromMinutes(30),
    });

    private static SecurityAlert Quarantine(string instance) => new()
    {
        Id = Guid.NewGuid().ToString("N"),
        Time = DateTimeOffset.UnixEpoch,
        Rule = "service-compromise",
        Class = "compromise",
        Severity = Severity.High,
        Instance = instance,
        Subject = "/var/log/autonomic/" + instance + ".log",
        Response = "quarantine",
        Reason = "compromise: xmrig",
        Evidence = ["[xmrig] pool stratum+tcp://pool.example:3333"],
    };

    [Fact]
    public async Task A_rate_limit_holds_the_client_to_its_rate_with_retry_after_and_expires()
    {
        await using var rig = await ResponderRig.CreateAsync(Options());
        var ip = IPAddress.Parse("203.0.113.9");
        var gate = new ClientGate(rig.Enforcement.Blocks, rig.Enforcement.Limits, rig.Time);
        Assert.Null(gate.Check(ip));

        await rig.Responder.HandleAsync(ResponderRig.Alert("203.0.113.9", "rate_limit"), CancellationToken.None);

        // A burst of the limit (2), then refused until a token comes back half a second later.
        Assert.Null(gate.Check(ip));
        Assert.Null(gate.Check(ip));
        var refused = gate.Check(ip);
        Assert.NotNull(refused);
        Assert.Equal(429, refused.Status);
        Assert.Equal(TimeSpan.FromSeconds(0.5), refused.RetryAfter);
        Assert.Contains("limited to 2/s", refused.Detail, StringComparison.Ordinal);
        Assert.Null(gate.Check(IPAddress.Parse("203.0.113.10")));
        rig.Time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Null(gate.Check(ip));
        Assert.NotNull(gate.Check(ip));

        var stored = JsonSerializer.Deserialize<ResponseRecord>((await rig.Docs.GetDocumentAsync(SecurityCollections.RateLimits, "203.0.113.9"))!.Json, JsonDefaults.Options)!;
        Assert.Equal((2.0, "sshd-bruteforce", true), (stored.RequestsPerSecond!.Value, stored.Rule, stored.Active));
        var action = (await rig.State.ListActionsAsync(10)).Single(a => a.Kind == "rate_limit");
        Assert.Equal(ActionStatus.Succeeded, action.Status);
        Assert.Contains("Failed password", action.Evidence["line1"], StringComparison.Ordinal);

        rig.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(1, await rig.Responder.ExpireAsync(CancellationToken.None));
        for (int i = 0; i < 5; i++)
        {
            Assert.Null(gate.Check(ip));
        }

        Assert.Contains(await rig.State.ListActionsAsync(10), a => a.Kind == "unrate_limit" && a.Rule == "security.expiry");
    }

    [Fact]
    public async Task An_allowlisted_client_is_never_rate_limited()
    {
        await using var rig = await ResponderRig.CreateAsync(Options("10.0.0.0/8"));

        await rig.Responder.HandleAsync(ResponderRig.Alert("10.1.2.3", "rate_limit"), CancellationToken.None);

        Assert.Equal(0, rig.Enforcement.Limits.Count);
        Assert.Null(await rig.Docs.GetDocumentAsync(SecurityCollections.RateLimits, "10.1.2.3"));
        Assert.Contains(await rig.State.ListActionsAsync(10), a => a.Kind == "rate_limit" && a.Status == ActionStatus.Skipped);
    }

    [Fact]
    public async Task A_quarantine_is_known_here_at_once_elsewhere_from_the_event_or_the_store_and_it_expires()
    {
        await using var rig = await ResponderRig.CreateAsync(Options());
        var events = new List<CloudEvent>();
        await using var sub = rig.Bus.Subscribe(EventTypes.SecurityResponse, "t", (e, _) =>
        {
            lock (events)
            {
                events.Add(e);
            }

            return Task.CompletedTask;
        });
        int changes = 0;
        rig.Enforcement.Quarantines.Changed += () => Interlocked.Increment(ref changes);

        await rig.Responder.HandleAsync(Quarantine("web-1"), CancellationToken.None);
        // The same alert again while it holds: nothing new.
        await rig.Responder.HandleAsync(Quarantine("web-1"), CancellationToken.None);

        Assert.True(rig.Enforcement.Quarantines.IsQuarantined("web-1"));
        Assert.False(rig.Enforcement.Quarantines.IsQuarantined("web-0"));
        Assert.Equal(1, changes);
        Assert.Single(await rig.State.ListActionsAsync(10), a => a.Kind == "quarantine");

        // Another process: from the event at once, or from the store on its next refresh.
        await Eventually.WaitAsync(() => { lock (events) { return events.Count == 1; } }, TimeSpan.FromSeconds(5), "the quarantine event");
        var fromEvent = new SecurityEnforcement(new Blocklist(rig.Time), new ClientRateLimits(rig.Time), new QuarantineList(rig.Time));
        fromEvent.Apply(events[0]);
        Assert.True(fromEvent.Quarantines.IsQuarantined("web-1"));
        var fromStore = new SecurityEnforcement(new Blocklist(rig.Time), new ClientRateLimits(rig.Time), new QuarantineList(rig.Time));
        await fromStore.RefreshAsync(rig.Docs, CancellationToken.None);
        Assert.True(fromStore.Quarantines.IsQuarantined("web-1"));

        rig.Time.Advance(TimeSpan.FromMinutes(30));
        Assert.False(fromStore.Quarantines.IsQuarantined("web-1"));
        Assert.Equal(1, await rig.Responder.ExpireAsync(CancellationToken.None));
        Assert.Equal(0, rig.Enforcement.Quarantines.Count);
        await Eventually.WaitAsync(() => { lock (events) { return events.Count == 2; } }, TimeSpan.FromSeconds(5), "the release event");
        Assert.Equal("unquarantine", events[1].Data!.Value.Deserialize<SecurityResponse>(JsonDefaults.Options)!.Kind);
        fromEvent.Apply(events[1]);
        Assert.Equal(0, fromEvent.Quarantines.Count);
    }

    [Fact]
    public void A_compromise_line_in_an_instances_own_log_asks_to_quarantine_that_instance()
    {
        var pipeline = new SecurityPipeline(RulePack.Default(), 2026);
        var alerts = new List<SecurityAlert>();
        var benign = pipeline.Parse("GET /orders 200 12ms", "text", "/logs/web-0.log")!;
        benign.Instance = "web-0";
        pipeline.Observe(benign, alerts);
        Assert.Empty(alerts);

        var line = pipeline.Parse("[2026-11-29 10:00:01] miner: connecting to stratum+tcp://pool.example:3333 as xmrig", "text", "/logs/web-0.log")!;
        line.Instance = "web-0";
        pipeline.Observe(line, alerts);

        var alert = Assert.Single(alerts, a => a.Response == "quarantine");
        Assert.Equal(("service-compromise", "web-0", null), (alert.Rule, alert.Instance, alert.SourceIp));
        Assert.Equal([line.Line], alert.Evidence);

        // The same text in a log that is not an instance's (no instance to quarantine) raises nothing to act on.
        var other = new List<SecurityAlert>();
        pipeline.Observe(pipeline.Parse("stratum+tcp://pool.example:3333", "text", "/var/log/other.log")!, other);
        Assert.DoesNotContain(other, a => a.Response == "quarantine");
    }
}
