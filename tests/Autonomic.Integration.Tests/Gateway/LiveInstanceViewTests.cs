using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autonomic.Agents.Fleet;
using Autonomic.Cli.Hosting;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;
using Autonomic.Gateway;
using Autonomic.Integration.Tests.ControlPlane;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Autonomic.Integration.Tests.Gateway;

/// <summary>
/// <c>GET /api/v1/instances</c> and <c>GET /api/v1/status</c> answer from the process's live view of the fleet when it
/// holds every instance, from the store otherwise, with the same bytes either way; quarantined instances say so.
/// </summary>
[Collection("control-plane")]
public sealed class LiveInstanceViewTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);
    private static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private static string Web(int port, int replicas) => $"""
          web:
            command: {ControlPlaneHarness.Workload}
            port: {port}
            replicas: {replicas}
            health:
              readiness: {"{"}http: /readyz, period: 200ms, timeout: 150ms{"}"}
        """;

    [Fact]
    public async Task A_complete_live_view_is_served_without_a_store_write_and_an_incomplete_one_is_not()
    {
        var logs = Directory.CreateTempSubdirectory("autonomic-live-view-").FullName;
        await using var store = GatewayFixture.CreateStore();
        await store.MigrateAsync();
        await using var bus = new Autonomic.Backends.Bus.InMemoryBus();
        var spec = new ServiceSpec { Name = "web", Command = "web", Replicas = 2, Port = 9100 };
        await store.SaveServiceAsync(spec);
        var ready = new InstanceRecord { Id = "web-0", Service = "web", Index = 0, State = InstanceState.Ready, Pid = 1111, Port = 9100, StartedAt = T0, ReadySince = T0, UpdatedAt = T0 };
        await store.UpsertInstanceAsync(ready);
        var registry = new InstanceRegistry();
        registry.Set(new LiveInstance(ready, spec, null));
        try
        {
            await using var host = await GatewayHost.StartAsync("http://127.0.0.1:0", new GatewayOptions { LogDirectory = logs, Auth = AuthModes.None }, services =>
            {
                services.AddSingleton(store);
                services.AddSingleton<IEventBus>(bus);
                services.AddSingleton<IFaultInjector>(new RecordingFaultInjector());
                services.AddSingleton(registry);
            });
            using var http = new HttpClient { BaseAddress = host.Address };

            // Registry and store agree: the same bytes whichever the answer came from.
            var fromStore = (await http.GetStringAsync("/api/v1/instances"), await http.GetStringAsync("/api/v1/status"));
            registry.Complete = true;
            Assert.Equal(fromStore, (await http.GetStringAsync("/api/v1/instances"), await http.GetStringAsync("/api/v1/status")));

            // A change only the live view has: served while it is complete, not while it is not.
            registry.Set(new LiveInstance(ready with { State = InstanceState.Unready, ReadySince = null, Reason = "readiness probe failing", UpdatedAt = T0.AddSeconds(1) }, spec, null));
            registry.Set(new LiveInstance(new InstanceRecord { Id = "web-1", Service = "web", Index = 1, State = InstanceState.Starting, Port = 9101, UpdatedAt = T0.AddSeconds(1) }, spec, null));
            var instances = JsonNode.Parse(await http.GetStringAsync("/api/v1/instances"))!.AsArray();
            Assert.Equal(["web-0", "web-1"], instances.Select(i => (string?)i!["id"]));
            Assert.Equal("unready", (string?)instances[0]!["state"]);
            Assert.Equal("readiness probe failing", (string?)instances[0]!["reason"]);
            Assert.Null(instances[0]!["readySince"]);
            var web = JsonNode.Parse(await http.GetStringAsync("/api/v1/status"))!["services"]!.AsArray().Single(s => (string?)s!["name"] == "web")!;
            Assert.Equal(0, (int)web["ready"]!);
            Assert.Equal(["unready", "starting"], web["instances"]!.AsArray().Select(i => (string?)i!["state"]));

            registry.Complete = false;
            Assert.Equal(fromStore, (await http.GetStringAsync("/api/v1/instances"), await http.GetStringAsync("/api/v1/status")));

            // The document describes the flag on the instance schema both endpoints use.
            var schema = JsonNode.Parse(await http.GetStringAsync("/openapi/v1.json"))!["components"]!["schemas"]!["InstanceRecord"]!;
            Assert.Equal("boolean", (string?)schema["properties"]!["quarantined"]!["type"]);
        }
        finally
        {
            Directory.Delete(logs, recursive: true);
        }
    }

    [Fact]
    public async Task A_control_plane_serves_its_healers_view_as_the_store_records_it_and_marks_a_quarantined_instance()
    {
        await using var h = new ControlPlaneHarness();
        await h.StartAsync(h.Fleet(Web(TestPorts.FreeRun(2), replicas: 2)));
        await h.WaitAllReadyAsync(Deadline);
        Assert.True(h.Registry.Complete);
        using var http = await ClientAsync(h);

        // Byte for byte what the store holds (read before and after, so no write fell in between).
        await Eventually.WaitAsync(async () =>
        {
            var before = StoreJson(await h.Store.ListInstancesAsync());
            var served = await http.GetStringAsync("/api/v1/instances");
            return served == before && StoreJson(await h.Store.ListInstancesAsync()) == before;
        }, Deadline, "/instances equal to the store's records");
        Assert.DoesNotContain("quarantined", await http.GetStringAsync("/api/v1/instances"), StringComparison.Ordinal);

        using (var put = await http.PostAsJsonAsync("/api/v1/security/quarantines", new { instance = "web-0" }))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        var instances = JsonNode.Parse(await http.GetStringAsync("/api/v1/instances"))!.AsArray();
        Assert.Equal(["web-0", "web-1"], instances.Select(i => (string?)i!["id"]));
        Assert.True((bool)instances[0]!["quarantined"]!);
        Assert.Null(instances[1]!["quarantined"]);
        // Quarantined, yet running and ready: it only left its load balancer.
        Assert.Equal("ready", (string?)instances[0]!["state"]);
        var status = JsonNode.Parse(await http.GetStringAsync("/api/v1/status"))!;
        var web = status["services"]!.AsArray().Single(s => (string?)s!["name"] == "web")!;
        Assert.Equal(2, (int)web["ready"]!);
        Assert.Equal([true, null], web["instances"]!.AsArray().Select(i => (bool?)i!["quarantined"]));

        using (var release = await http.DeleteAsync("/api/v1/security/quarantines/web-0"))
        {
            Assert.Equal(HttpStatusCode.OK, release.StatusCode);
        }

        Assert.DoesNotContain("quarantined", await http.GetStringAsync("/api/v1/instances"), StringComparison.Ordinal);
        Assert.DoesNotContain("quarantined", await http.GetStringAsync("/api/v1/status"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_record_the_healer_does_not_write_keeps_the_answer_on_the_store()
    {
        await using var h = new ControlPlaneHarness();
        // Left by an earlier run with more replicas: no slot of this healer writes web-7, so the live view lacks it.
        await using (var earlier = new Autonomic.Backends.Store.SqliteStateStore($"sqlite:{h.Root}/state.db"))
        {
            await earlier.MigrateAsync();
            await earlier.UpsertInstanceAsync(new InstanceRecord { Id = "web-7", Service = "web", Index = 7, State = InstanceState.Stopped, Reason = "control plane shut down", UpdatedAt = T0 });
        }

        await h.StartAsync(h.Fleet(Web(TestPorts.FreeRun(1), replicas: 1)));
        await h.WaitAllReadyAsync(Deadline);
        Assert.False(h.Registry.Complete);
        Assert.Null(h.Registry.Get("web-7"));
        using var http = await ClientAsync(h);
        var instances = JsonNode.Parse(await http.GetStringAsync("/api/v1/instances"))!.AsArray();
        Assert.Equal(["web-0", "web-7"], instances.Select(i => (string?)i!["id"]));
    }

    [Fact]
    public async Task An_api_process_without_a_healer_mirrors_the_store_additions_changes_and_removals()
    {
        await using var h = new ControlPlaneHarness();
        var plane = await global::Autonomic.Cli.Hosting.ControlPlane.CreateAsync(h.Fleet(Web(TestPorts.FreeRun(1), replicas: 1)), new ControlPlaneOptions
        {
            BootstrapKey = h.AdminKey,
            MinimumLevel = LogLevel.Warning,
            Roles = new HashSet<string>([AgentRoles.Api], StringComparer.Ordinal),
        });
        await using (plane)
        {
            await plane.StartAsync();
            var registry = plane.Services.GetRequiredService<InstanceRegistry>();
            // The healer is another process: here, the test writes the store as it would.
            var store = plane.Services.GetRequiredService<IStateStore>();
            using var http = await ClientAsync(h);
            await Eventually.WaitAsync(() => registry.Complete, Deadline, "the first read of the store");

            var web0 = new InstanceRecord { Id = "web-0", Service = "web", Index = 0, State = InstanceState.Starting, Port = 9100, UpdatedAt = T0 };
            await store.UpsertInstanceAsync(web0);
            await WaitListedAsync(http, registry, ["web-0"], "starting");
            await store.UpsertInstanceAsync(web0 with { State = InstanceState.Ready, Pid = 4242, ReadySince = T0.AddSeconds(1), UpdatedAt = T0.AddSeconds(1) });
            await WaitListedAsync(http, registry, ["web-0"], "ready");

            // A service created through the API is in no fleet file: its spec comes from the store.
            await store.SaveServiceAsync(new ServiceSpec { Name = "jobs", Command = "jobs", Replicas = 1 });
            await store.UpsertInstanceAsync(new InstanceRecord { Id = "jobs-0", Service = "jobs", Index = 0, State = InstanceState.Ready, UpdatedAt = T0 });
            await WaitListedAsync(http, registry, ["jobs-0", "web-0"], "ready");
            Assert.Equal("jobs", registry.Get("jobs-0")!.Spec.Name);

            await store.DeleteInstanceAsync("web-0");
            await WaitListedAsync(http, registry, ["jobs-0"], "ready");
            Assert.Null(registry.Get("web-0"));

            // A record with no spec anywhere stays out of the live view, which is then incomplete: the store answers.
            await store.UpsertInstanceAsync(new InstanceRecord { Id = "ghost-0", Service = "ghost", Index = 0, State = InstanceState.Running, UpdatedAt = T0 });
            await Eventually.WaitAsync(() => !registry.Complete, Deadline, "the view to know it is incomplete");
            Assert.Null(registry.Get("ghost-0"));
            Assert.Equal(StoreJson(await store.ListInstancesAsync()), await http.GetStringAsync("/api/v1/instances"));
            await store.DeleteInstanceAsync("ghost-0");
            await Eventually.WaitAsync(() => registry.Complete, Deadline, "the view to be complete again");
        }
    }

    /// <summary>Waits until the live view and the answer list exactly <paramref name="ids"/>, the last in <paramref name="state"/>, and match the store.</summary>
    private static Task WaitListedAsync(HttpClient http, InstanceRegistry registry, string[] ids, string state) =>
        Eventually.WaitAsync(async () =>
        {
            if (!registry.Complete || !registry.Snapshot().Select(i => i.Record.Id).Order(StringComparer.Ordinal).SequenceEqual(ids))
            {
                return false;
            }

            var served = JsonNode.Parse(await http.GetStringAsync("/api/v1/instances"))!.AsArray();
            return served.Select(i => (string?)i!["id"]).SequenceEqual(ids) && (string?)served[^1]!["state"] == state;
        }, Deadline, $"{string.Join(", ", ids)} listed, the last {state}");

    private static string StoreJson(IReadOnlyList<InstanceRecord> records) => JsonSerializer.Serialize(records, JsonDefaults.Options);

    /// <summary>A client with a key of its own without a rate limit (the bootstrap key's would throttle polling).</summary>
    private static async Task<HttpClient> ClientAsync(ControlPlaneHarness h)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{h.ApiPort}/") };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", h.AdminKey);
        using var created = await http.PostAsync("/api/v1/keys", new StringContent("""{"name":"live-view-test","role":"admin","rate":0}""", Encoding.UTF8, "application/json"));
        created.EnsureSuccessStatusCode();
        var key = JsonNode.Parse(await created.Content.ReadAsStringAsync())!["key"]!.GetValue<string>();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        return http;
    }
}
