using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Autonomic.Agents.Security;
using Autonomic.Backends.Bus;
using Autonomic.Backends.Store;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Security;
using Autonomic.Core.Specs;
using Autonomic.Gateway;
using Autonomic.Gateway.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Autonomic.Integration.Tests.Security;

/// <summary>
/// A brute-force burst of wrong API keys against a real Kestrel gateway with real authentication: the security agent reads the gateway's access events from the
/// bus, blocks the source, the block middleware answers 403, and the block lifts when the ban expires.
/// </summary>
public sealed class SecurityEndToEndTests : IAsyncLifetime
{
    private static readonly IPAddress Attacker = IPAddress.Parse("127.0.0.2");
    private static readonly IPAddress Trusted = IPAddress.Parse("127.0.0.3");
    private static readonly string AdminKey = global::Autonomic.Gateway.Auth.ApiKeyFormat.Generate().Key;
    private static readonly string WrongKey = global::Autonomic.Gateway.Auth.ApiKeyFormat.Generate().Key;
    private WebApplication? _app;
    private string _url = "";
    private string _dir = "";

    public async Task InitializeAsync()
    {
        _dir = Directory.CreateTempSubdirectory("autonomic-sec-e2e-").FullName;
        var port = TestPorts.Free();
        _url = $"http://127.0.0.1:{port}";
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(_url);
        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<IEventBus>(new InMemoryBus(TimeProvider.System));
        services.AddSingleton<IDocumentStore>(new Autonomic.Backends.Store.InMemoryDocumentStore());
        var state = new SqliteStateStore($"sqlite:{Path.Combine(_dir, "state.db")}");
        await state.MigrateAsync();
        services.AddSingleton<IStateStore>(state);
        // Real API keys: wrong keys get 401 from the gateway, whose access events the security agent reads.
        services.AddAutonomicGateway(new GatewayOptions { LogDirectory = _dir, BootstrapKey = AdminKey });
        services.AddSingleton<IFaultInjector>(new Autonomic.Integration.Tests.Gateway.RecordingFaultInjector());
        services.AddSecurityAgent(new SecuritySettings
        {
            Allowlist = ["127.0.0.3/32"],
            BanTime = TimeSpan.FromSeconds(2),
        });

        _app = builder.Build();
        _app.UseAutonomicGateway();
        await _app.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private HttpClient ClientFrom(IPAddress local, string key) => LoopbackClient.From(local, new Uri(_url), key);

    /// <summary>A request with a key that does not exist: the gateway answers 401.</summary>
    private static HttpRequestMessage WithWrongKey(string path) =>
        new(HttpMethod.Get, path) { Headers = { Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", WrongKey) } };

    [Fact]
    public async Task BruteForceBurst_IsBlockedWithinASecond_UnblockedWhenTheBanExpires_AllowlistedNever()
    {
        using var attacker = ClientFrom(Attacker, WrongKey);
        using var trusted = ClientFrom(Trusted, AdminKey);

        // A first offender warms the path up (JIT, the store's first writes), so the 1 s below measures the agent and
        // not a cold start.
        using (var first = ClientFrom(IPAddress.Parse("127.0.0.4"), WrongKey))
        {
            for (int i = 0; i < 10; i++)
            {
                await first.GetAsync("/api/v1/status");
            }

            await Eventually.WaitAsync(async () => (await first.GetAsync("/healthz")).StatusCode == HttpStatusCode.Forbidden, TimeSpan.FromSeconds(15), "the warm-up offender blocked");
        }

        for (int i = 0; i < 10; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await attacker.GetAsync("/api/v1/status")).StatusCode);
        }

        var burstEnd = Stopwatch.StartNew();
        HttpResponseMessage? blocked = null;
        await Eventually.WaitAsync(async () =>
        {
            var r = await attacker.GetAsync("/healthz");
            blocked = r;
            return r.StatusCode == HttpStatusCode.Forbidden;
        }, TimeSpan.FromSeconds(1), "the attacker blocked within 1 s");
        Assert.True(burstEnd.Elapsed < TimeSpan.FromSeconds(1.5));
        Assert.Equal("application/problem+json", blocked!.Content.Headers.ContentType?.MediaType);
        using (var problem = JsonDocument.Parse(await blocked.Content.ReadAsStringAsync()))
        {
            Assert.Equal("source blocked", problem.RootElement.GetProperty("title").GetString());
            Assert.Equal("http-auth-bruteforce", problem.RootElement.GetProperty("rule").GetString());
        }

        // The same burst from an allowlisted address: answered every time, never blocked.
        for (int i = 0; i < 30; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await trusted.SendAsync(WithWrongKey("/api/v1/status"))).StatusCode);
        }

        // The API lists the block with its evidence, and the audit trail has the action.
        var blocks = JsonDocument.Parse(await trusted.GetStringAsync("/api/v1/security/blocks")).RootElement;
        Assert.Contains(blocks.EnumerateArray(), b => b.GetProperty("block").GetProperty("ip").GetString() == "127.0.0.2");
        Assert.DoesNotContain(blocks.EnumerateArray(), b => b.GetProperty("block").GetProperty("ip").GetString() == "127.0.0.3");
        var audit = JsonDocument.Parse(await trusted.GetStringAsync("/api/v1/audit?agent=security&kind=block")).RootElement;
        Assert.Contains(audit.EnumerateArray(), a => a.GetProperty("subject").GetString() == "127.0.0.2" && a.GetProperty("evidence").GetProperty("line1").GetString()!.Contains("401", StringComparison.Ordinal));

        // The ban is 2 s: afterwards the attacker is answered again (401, not 403).
        await Eventually.WaitAsync(async () => (await attacker.GetAsync("/healthz")).StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(10), "the ban to expire");
        var docs = _app!.Services.GetRequiredService<IDocumentStore>();
        Assert.Null(await docs.GetDocumentAsync(SecurityCollections.Blocks, "127.0.0.3"));
        await Eventually.WaitAsync(async () =>
        {
            var doc = await docs.GetDocumentAsync(SecurityCollections.Blocks, "127.0.0.2");
            return doc is not null && !JsonSerializer.Deserialize<BlockRecord>(doc.Json, JsonDefaults.Options)!.Active;
        }, TimeSpan.FromSeconds(5), "the expiry sweep to lift the stored block");
    }

    [Fact]
    public async Task Unblock_ThroughTheApi_LiftsTheBlockAtOnce_AndBadInputGetsProblems()
    {
        using var attacker = ClientFrom(Attacker, WrongKey);
        using var trusted = ClientFrom(Trusted, AdminKey);
        for (int i = 0; i < 10; i++)
        {
            await attacker.GetAsync("/api/v1/status");
        }

        await Eventually.WaitAsync(async () => (await attacker.GetAsync("/healthz")).StatusCode == HttpStatusCode.Forbidden, TimeSpan.FromSeconds(5), "the block");

        Assert.Equal(HttpStatusCode.BadRequest, (await trusted.DeleteAsync("/api/v1/security/blocks/not-an-ip")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await trusted.DeleteAsync("/api/v1/security/blocks/192.0.2.99")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await trusted.GetAsync("/api/v1/audit?since=yesterday")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await trusted.DeleteAsync("/api/v1/security/blocks/127.0.0.2")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await attacker.GetAsync("/healthz")).StatusCode);

        var rules = JsonDocument.Parse(await trusted.GetStringAsync("/api/v1/security/rules")).RootElement;
        Assert.Contains(rules.EnumerateArray(), r => r.GetProperty("id").GetString() == "sshd-bruteforce");
        var alerts = JsonDocument.Parse(await trusted.GetStringAsync("/api/v1/security/alerts")).RootElement;
        Assert.Contains(alerts.EnumerateArray(), a => a.GetProperty("rule").GetString() == "http-auth-bruteforce");
        var audit = JsonDocument.Parse(await trusted.GetStringAsync("/api/v1/audit?agent=security&kind=unblock&since=1h")).RootElement;
        Assert.Contains(audit.EnumerateArray(), a => a.GetProperty("rule").GetString() == "security.manual");
    }
}
