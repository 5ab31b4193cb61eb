using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Autonomic.Cli;
using Autonomic.Cli.Commands;
using Autonomic.Core.Model;
using Autonomic.Integration.Tests.ControlPlane;
using Autonomic.Traffic;
using Microsoft.Extensions.DependencyInjection;

namespace Autonomic.Integration.Tests.Security;

/// <summary>
/// One real embedded control plane (every agent, real API keys, SQLite) supervising two real workload replicas behind
/// their YARP load balancer. Attacks go through the load balancer from other loopback addresses; the security agent
/// reads the load balancer's access events and the instances' own logs, and its responses are enforced where the
/// traffic flows: blocks (403) and rate limits (429) at the load balancer and the gateway, quarantine by leaving the
/// load balancer while the instance keeps running.
/// </summary>
public sealed class TrafficSecurityEndToEndTests : IAsyncLifetime
{
    private static readonly IPAddress Trusted = IPAddress.Parse("127.0.0.3");
    private readonly ControlPlaneHarness _harness = new();
    private readonly string _rules = Directory.CreateTempSubdirectory("autonomic-rules-").FullName;
    private int _lbPort;

    private Uri Lb => new($"http://127.0.0.1:{_lbPort}/");

    private Uri Api => new($"http://127.0.0.1:{_harness.ApiPort}/");

    private ServiceLoadBalancer Balancer => _harness.Plane.Services.GetRequiredService<LoadBalancerHost>()["web"]!;

    public async Task InitializeAsync()
    {
        // A rule pack extension: five 404s from one client within a minute gets it rate-limited.
        await File.WriteAllTextAsync(Path.Combine(_rules, "notfound.yaml"), """
            rules:
              - id: test-notfound-burst
                kind: threshold
                on: ["status:404"]
                maxretry: 5
                findtime: 1m
                class: probing
                severity: medium
                response: rate_limit
            """);
        _lbPort = TestPorts.Free();
        int port = TestPorts.FreeRun(2);
        var fleet = _harness.Fleet($"""
              web:
                command: {ControlPlaneHarness.Workload}
                port: {port}
                replicas: 2
                health:
                  readiness: {"{"}http: /readyz, period: 200ms, timeout: 200ms{"}"}
                load_balancer: {"{"}port: {_lbPort}, health_interval: 500ms{"}"}
            """, $"""
              security:
                allowlist: [127.0.0.3/32]
                ban_time: 2s
                rate_limit: 2
                rate_limit_time: 3s
                quarantine_time: 1h
                rule_dirs: [{_rules}]
            """);
        await _harness.StartAsync(fleet);
        await _harness.WaitAllReadyAsync(TimeSpan.FromSeconds(30));
        await Eventually.WaitAsync(() => Balancer.Destinations.Count == 2, TimeSpan.FromSeconds(10), "both replicas behind the load balancer");
    }

    public async Task DisposeAsync()
    {
        await _harness.DisposeAsync();
        Directory.Delete(_rules, recursive: true);
    }

    [Fact]
    public async Task An_injection_attack_through_the_load_balancer_is_blocked_there_within_a_second_and_the_ban_expires()
    {
        using var attacker = LoopbackClient.From(IPAddress.Parse("127.0.0.2"), Lb);
        using var trusted = LoopbackClient.From(Trusted, Lb);
        using var api = LoopbackClient.From(IPAddress.Parse("127.0.0.2"), Api);
        Assert.Equal(HttpStatusCode.OK, (await attacker.GetAsync("/")).StatusCode);

        for (int i = 0; i < 3; i++)
        {
            await attacker.GetAsync($"/?id=1%27%20union%20select%20password%20from%20users--{i}");
        }

        var burstEnd = Stopwatch.StartNew();
        HttpResponseMessage? refused = null;
        await Eventually.WaitAsync(async () => (refused = await attacker.GetAsync("/")).StatusCode == HttpStatusCode.Forbidden, TimeSpan.FromSeconds(1), "the attacker blocked at the load balancer within 1 s");
        Assert.True(burstEnd.Elapsed < TimeSpan.FromSeconds(1.5));
        Assert.Equal("application/problem+json", refused!.Content.Headers.ContentType?.MediaType);
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero);
        using (var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()))
        {
            Assert.Equal("http-attack-source", problem.RootElement.GetProperty("rule").GetString());
        }

        // Blocked at the control plane's API too; everyone else is served.
        Assert.Equal(HttpStatusCode.Forbidden, (await api.GetAsync("/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await trusted.GetAsync("/")).StatusCode);

        // The ban is 2 s: then the attacker is served again.
        await Eventually.WaitAsync(async () => (await attacker.GetAsync("/")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(10), "the ban to expire");
    }

    [Fact]
    public async Task A_client_a_user_rule_flags_is_rate_limited_at_the_load_balancer_until_the_limit_expires()
    {
        using var client = LoopbackClient.From(IPAddress.Parse("127.0.0.4"), Lb);
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync($"/missing-{i}")).StatusCode);
        }

        HttpResponseMessage? limited = null;
        await Eventually.WaitAsync(async () => (limited = await client.GetAsync("/")).StatusCode == HttpStatusCode.TooManyRequests, TimeSpan.FromSeconds(2), "the rate limit");
        Assert.True(limited!.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1));

        // Held to 2 requests per second: of 20 back-to-back requests only the burst and the refill get through.
        int served = 0;
        var watch = Stopwatch.StartNew();
        for (int i = 0; i < 20; i++)
        {
            served += (await client.GetAsync("/")).StatusCode == HttpStatusCode.OK ? 1 : 0;
        }

        Assert.InRange(served, 0, 2 + (int)Math.Ceiling(watch.Elapsed.TotalSeconds * 2));

        var cli = await CliAsync("security", "limits");
        Assert.Equal(0, cli.Code);
        Assert.Contains("127.0.0.4", cli.Out, StringComparison.Ordinal);
        Assert.Contains("test-notfound-burst", cli.Out, StringComparison.Ordinal);

        // The limit lasts 3 s.
        await Eventually.WaitAsync(async () =>
        {
            for (int i = 0; i < 5; i++)
            {
                if ((await client.GetAsync("/")).StatusCode != HttpStatusCode.OK)
                {
                    return false;
                }
            }

            return true;
        }, TimeSpan.FromSeconds(10), "the rate limit to expire");
    }

    [Fact]
    public async Task A_compromised_instance_leaves_the_load_balancer_keeps_running_and_comes_back_when_released()
    {
        var before = _harness.Instance("web-0").Record;
        // What a compromised process would print: the agent follows every instance's own log.
        await File.AppendAllTextAsync(Path.Combine(_harness.Root, "logs", "web-0.log"),
            "miner: connecting to stratum+tcp://pool.example.net:3333 as worker1\n");

        await Eventually.WaitAsync(() => !Balancer.Destinations.Contains("web-0"), TimeSpan.FromSeconds(8), "web-0 out of the load balancer");
        Assert.Equal(["web-1"], Balancer.Destinations);
        var now = _harness.Instance("web-0").Record;
        Assert.Equal((InstanceState.Ready, before.Pid), (now.State, now.Pid));
        using (var client = LoopbackClient.From(Trusted, Lb))
        {
            for (int i = 0; i < 10; i++)
            {
                var response = await client.GetAsync("/");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                Assert.Equal("web-1", response.Headers.GetValues(ServiceLoadBalancer.InstanceHeader).Single());
            }
        }

        var list = await CliAsync("security", "quarantines");
        Assert.Equal(0, list.Code);
        Assert.Contains("web-0", list.Out, StringComparison.Ordinal);
        Assert.Contains("service-compromise", list.Out, StringComparison.Ordinal);
        using (var admin = LoopbackClient.From(Trusted, Api, _harness.AdminKey))
        {
            var audit = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/audit?agent=security&kind=quarantine")).RootElement;
            Assert.Contains(audit.EnumerateArray(), a => a.GetProperty("subject").GetString() == "web-0"
                && a.GetProperty("evidence").GetProperty("line1").GetString()!.Contains("stratum+tcp", StringComparison.Ordinal));
            Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync("/api/v1/security/quarantines/web-9")).StatusCode);
        }

        var released = await CliAsync("security", "release", "web-0");
        Assert.Equal((0, "released web-0"), (released.Code, released.Out.Trim()));
        await Eventually.WaitAsync(() => Balancer.Destinations.Contains("web-0"), TimeSpan.FromSeconds(5), "web-0 back in the load balancer");
    }

    [Fact]
    public async Task An_operator_quarantines_by_hand_and_bad_requests_get_problems()
    {
        using var admin = LoopbackClient.From(Trusted, Api, _harness.AdminKey);
        var bad = await admin.PostAsync("/api/v1/security/quarantines", JsonContent("""{"instance": "web-1", "for": "forever"}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
        Assert.Contains("for", await bad.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.PostAsync("/api/v1/security/quarantines", JsonContent("""{"instance": "nope-3"}"""))).StatusCode);
        var empty = await admin.PostAsync("/api/v1/security/quarantines", JsonContent("{}"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, empty.StatusCode);
        var emptyProblem = JsonDocument.Parse(await empty.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("required", emptyProblem.GetProperty("errors").GetProperty("instance")[0].GetString());
        Assert.DoesNotContain("Autonomic.", emptyProblem.GetRawText(), StringComparison.Ordinal);
        var number = await admin.PostAsync("/api/v1/security/quarantines", JsonContent("""{"instance": "web-1", "for": 30}"""));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, number.StatusCode);
        Assert.DoesNotContain("Autonomic.", await number.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var cli = await CliAsync("security", "quarantine", "web-1", "--for", "10m", "--reason", "suspicious outbound traffic");
        Assert.Equal(0, cli.Code);
        Assert.StartsWith("quarantined web-1 until", cli.Out, StringComparison.Ordinal);
        await Eventually.WaitAsync(() => Balancer.Destinations.SequenceEqual(["web-0"]), TimeSpan.FromSeconds(5), "web-1 out of the load balancer");

        // A shorter quarantine on top does not cut the one in force short.
        var shorter = await admin.PostAsync("/api/v1/security/quarantines", JsonContent("""{"instance": "web-1", "for": "1m"}"""));
        Assert.Equal(HttpStatusCode.OK, shorter.StatusCode);
        var held = JsonDocument.Parse(await shorter.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("suspicious outbound traffic", held.GetProperty("reason").GetString());

        // Quarantining the other one too would leave nothing to serve: the load balancer keeps its last instances.
        Assert.Equal(0, (await CliAsync("security", "quarantine", "web-0")).Code);
        await Eventually.WaitAsync(() => Balancer.Destinations.Count == 2, TimeSpan.FromSeconds(5), "both kept rather than none");
    }

    [Fact]
    public async Task An_operator_blocks_an_address_by_hand_at_every_door_and_the_allowlist_holds()
    {
        using var victim = LoopbackClient.From(IPAddress.Parse("127.0.0.6"), Lb);
        Assert.Equal(HttpStatusCode.OK, (await victim.GetAsync("/")).StatusCode);

        var cli = await CliAsync("security", "block", "127.0.0.6", "--for", "10m", "--reason", "abuse report 4711");
        Assert.Equal(0, cli.Code);
        Assert.StartsWith("blocked 127.0.0.6 until", cli.Out, StringComparison.Ordinal);
        var refused = await victim.GetAsync("/");
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("security.manual", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var admin = LoopbackClient.From(Trusted, Api, _harness.AdminKey);
        Assert.Equal(HttpStatusCode.Conflict, (await admin.PostAsync("/api/v1/security/blocks", JsonContent("""{"ip": "127.0.0.3"}"""))).StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, (await admin.PostAsync("/api/v1/security/blocks", JsonContent("""{"ip": "not-an-ip"}"""))).StatusCode);
        Assert.Equal(2, (await CliAsync("security", "block", "999.1.1.1")).Code);
        var audit = JsonDocument.Parse(await admin.GetStringAsync("/api/v1/audit?agent=security&kind=block")).RootElement;
        Assert.Contains(audit.EnumerateArray(), a => a.GetProperty("subject").GetString() == "127.0.0.6" && a.GetProperty("rule").GetString() == "security.manual");

        Assert.Equal(0, (await CliAsync("security", "unblock", "127.0.0.6")).Code);
        Assert.Equal(HttpStatusCode.OK, (await victim.GetAsync("/")).StatusCode);
    }

    private static StringContent JsonContent(string json) => new(json, System.Text.Encoding.UTF8, "application/json");

    private async Task<(int Code, string Out, string Error)> CliAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var plain = CliContext.ForWriters(output, error);
        var context = new CliContext { Console = plain.Console, Out = output, Error = error, KeyFile = Path.Combine(_harness.Root, "no-key") };
        var code = await CliApp.RunAsync([.. args, "--api", Api.ToString(), "--api-key", _harness.AdminKey], context);
        return (code, output.ToString(), error.ToString());
    }
}
