using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;
using Autonomic.Gateway.Auth;
using Autonomic.Gateway.Services;

namespace Autonomic.Integration.Tests.Gateway;

/// <summary>Services as desired state: validation, the store, and the command events on the bus.</summary>
public sealed class ServicesApiTests(KeyedGateway gw) : IClassFixture<KeyedGateway>, IAsyncLifetime
{
    private readonly ConcurrentQueue<CloudEvent> commands = new();
    private IAsyncDisposable? subscription;
    private HttpClient http = null!;
    private CreatedApiKey op = null!;

    public async Task InitializeAsync()
    {
        subscription = gw.Bus.Subscribe("service.*", "test-commands-" + Guid.NewGuid().ToString("N"), (e, _) =>
        {
            commands.Enqueue(e);
            return Task.CompletedTask;
        }, new SubscriptionOptions { Transient = true });
        op = await gw.CreateKeyAsync(ApiRoles.Operator, rate: 0, name: "deployer");
        http = gw.Client(op.Key);
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await subscription!.DisposeAsync();
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<CloudEvent> CommandAsync(string eventId) =>
        await Eventually.WaitAsync(() => Task.FromResult(commands.FirstOrDefault(e => e.Id == eventId)), TimeSpan.FromSeconds(10), $"command event {eventId}");

    private static async Task<ServiceCommandAccepted> AcceptedAsync(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, body);
        return JsonSerializer.Deserialize<ServiceCommandAccepted>(body, JsonDefaults.Options)!;
    }

    private static async Task<JsonElement> InvalidAsync(HttpResponseMessage response, string field)
    {
        var problem = await ApiAuthTests.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), $"no error for {field}: {problem}");
        Assert.Contains(field, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        return problem;
    }

    [Fact]
    public async Task Create_saves_the_spec_and_publishes_service_apply()
    {
        using var response = await http.PostAsync("/api/v1/services", Json("""
            {"name":"api","command":"/bin/api","args":["--fast"],"port":9300,"replicas":3,
             "health":{"liveness":{"kind":"http","path":"/live","period":"250ms","timeout":"200ms"}},
             "restart":{"mode":"on_failure","backoffMax":"10s"}}
            """));
        var accepted = await AcceptedAsync(response);
        Assert.Equal(("service.apply", "api", 3), (accepted.Type, accepted.Service, accepted.Replicas));
        Assert.Equal("/api/v1/services/api", response.Headers.Location?.ToString());

        var saved = (await gw.Store.ListServicesAsync()).Single(s => s.Name == "api");
        Assert.Equal(TimeSpan.FromMilliseconds(250), saved.Health.Liveness!.Period);
        Assert.Equal(RestartMode.OnFailure, saved.Restart.Mode);
        var evt = await CommandAsync(accepted.EventId);
        Assert.Equal(EventTypes.ServiceApply, evt.Type);
        Assert.Equal("api", evt.Subject);
        var published = evt.Data!.Value.Deserialize<ServiceSpec>(JsonDefaults.Options)!;
        Assert.Equal((3, 9300, "/live"), (published.Replicas, published.Port, published.Health.Liveness!.Path));

        using var again = await http.PostAsync("/api/v1/services", Json("""{"name":"api","command":"/bin/api"}"""));
        await ApiAuthTests.AssertProblemAsync(again, HttpStatusCode.Conflict);

        var read = await http.GetFromJsonAsync<JsonElement>("/api/v1/services/api");
        Assert.Equal(3, read.GetProperty("replicas").GetInt32());
        var list = await http.GetFromJsonAsync<JsonElement>("/api/v1/services");
        Assert.Contains(list.EnumerateArray(), s => s.GetProperty("name").GetString() == "api");
    }

    [Theory]
    [InlineData("""{"name":"r1","command":"x","replicas":101}""", "replicas")]
    [InlineData("""{"name":"r2","command":"x","replicas":"three"}""", "replicas")]
    [InlineData("""{"name":"r3","command":"x","replica":2}""", "replica")]
    [InlineData("""{"name":"Bad_Name","command":"x"}""", "name")]
    [InlineData("""{"name":"r4","command":""}""", "command")]
    [InlineData("""{"name":"r5","command":"x","port":70000}""", "port")]
    [InlineData("""{"name":"r6","command":"x","port":65500,"replicas":50}""", "port")]
    [InlineData("""{"name":"r7","command":"x","health":{"liveness":{"period":"1s","timeout":"2s"}}}""", "health.liveness.timeout")]
    [InlineData("""{"name":"r8","command":"x","health":{"readiness":{"period":"soon"}}}""", "health.readiness.period")]
    [InlineData("""{"name":"r9","command":"x","port":9100}""", "port")]
    [InlineData("""{"name":"r10","command":"x","args":null}""", "args")]
    [InlineData("""{"name":"r11","command":"x","replicas":1e400}""", "replicas")]
    [InlineData("""[1,2,3]""", "$")]
    public async Task An_invalid_spec_is_422_naming_the_field(string json, string field)
    {
        using var response = await http.PostAsync("/api/v1/services", Json(json));
        await InvalidAsync(response, field);
        Assert.DoesNotContain(await gw.Store.ListServicesAsync(), s => s.Name.StartsWith('r') && s.Name.Length <= 3);
    }

    [Theory]
    [InlineData("")]
    [InlineData("{not json")]
    [InlineData("{\"name\":\"x\"")]
    public async Task A_body_that_is_not_json_is_400(string body)
    {
        using var response = await http.PostAsync("/api/v1/services", Json(body));
        await ApiAuthTests.AssertProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Update_replaces_the_spec_of_an_existing_service_only()
    {
        using (var missing = await http.PutAsync("/api/v1/services/ghost", Json("""{"name":"ghost","command":"x"}""")))
        {
            await ApiAuthTests.AssertProblemAsync(missing, HttpStatusCode.NotFound);
        }

        using (var renamed = await http.PutAsync("/api/v1/services/web", Json("""{"name":"other","command":"x"}""")))
        {
            await InvalidAsync(renamed, "name");
        }

        using var response = await http.PutAsync("/api/v1/services/web", Json("""{"name":"web","command":"web-v2","replicas":2,"port":9100}"""));
        var accepted = await AcceptedAsync(response);
        Assert.Equal("web-v2", (await gw.Store.ListServicesAsync()).Single(s => s.Name == "web").Command);
        Assert.Equal(EventTypes.ServiceApply, (await CommandAsync(accepted.EventId)).Type);
    }

    [Fact]
    public async Task Scale_stores_the_replicas_and_publishes_service_scale()
    {
        using (var create = await http.PostAsync("/api/v1/services", Json("""{"name":"worker","command":"w","replicas":1}""")))
        {
            await AcceptedAsync(create);
        }

        using var response = await http.PostAsJsonAsync("/api/v1/services/worker/scale", new { replicas = 5 });
        var accepted = await AcceptedAsync(response);
        Assert.Equal(5, (await gw.Store.ListServicesAsync()).Single(s => s.Name == "worker").Replicas);
        var evt = await CommandAsync(accepted.EventId);
        Assert.Equal(EventTypes.ServiceScale, evt.Type);
        var command = evt.Data!.Value.Deserialize<ServiceCommand>(JsonDefaults.Options)!;
        Assert.Equal(("worker", 5, $"key:{op.Info.Id}"), (command.Service, command.Replicas, command.RequestedBy));

        foreach (var bad in new[] { -1, 101 })
        {
            using var outOfRange = await http.PostAsJsonAsync("/api/v1/services/worker/scale", new { replicas = bad });
            await InvalidAsync(outOfRange, "replicas");
        }

        using var zero = await http.PostAsJsonAsync("/api/v1/services/worker/scale", new { replicas = 0 });
        await AcceptedAsync(zero);
        using var unknown = await http.PostAsJsonAsync("/api/v1/services/nope/scale", new { replicas = 1 });
        await ApiAuthTests.AssertProblemAsync(unknown, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Restart_and_delete_publish_their_commands()
    {
        using var restart = await http.PostAsync("/api/v1/services/web/restart", null);
        var restarted = await CommandAsync((await AcceptedAsync(restart)).EventId);
        Assert.Equal(EventTypes.ServiceRestart, restarted.Type);
        Assert.Equal("web", restarted.Data!.Value.Deserialize<ServiceCommand>(JsonDefaults.Options)!.Service);

        using (var create = await http.PostAsync("/api/v1/services", Json("""{"name":"doomed","command":"d"}""")))
        {
            await AcceptedAsync(create);
        }

        using var delete = await http.DeleteAsync("/api/v1/services/doomed");
        var deleted = await CommandAsync((await AcceptedAsync(delete)).EventId);
        Assert.Equal((EventTypes.ServiceDelete, "doomed"), (deleted.Type, deleted.Subject));

        using var unknown = await http.DeleteAsync("/api/v1/services/never-was");
        await ApiAuthTests.AssertProblemAsync(unknown, HttpStatusCode.NotFound);
        using var badName = await http.PostAsync("/api/v1/services/NOT..valid/restart", null);
        await ApiAuthTests.AssertProblemAsync(badName, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_viewer_may_read_services_but_not_change_them()
    {
        using var viewer = gw.Client((await gw.CreateKeyAsync(ApiRoles.Viewer)).Key);
        using var read = await viewer.GetAsync("/api/v1/services/web");
        Assert.Equal(HttpStatusCode.OK, read.StatusCode);
        using var scale = await viewer.PostAsJsonAsync("/api/v1/services/web/scale", new { replicas = 1 });
        await ApiAuthTests.AssertProblemAsync(scale, HttpStatusCode.Forbidden);
        Assert.Equal(2, (await gw.Store.ListServicesAsync()).Single(s => s.Name == "web").Replicas);
    }
}
