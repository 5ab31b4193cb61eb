using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Gateway;
using Microsoft.Extensions.DependencyInjection;

namespace Autonomic.Integration.Tests.Gateway;

public sealed class GatewayApiTests(GatewayFixture fx) : IClassFixture<GatewayFixture>
{
    private HttpClient Http => fx.Http;

    private async Task<JsonElement> GetJsonAsync(string path, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await Http.GetAsync(path);
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.Clone();
    }

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(body);
        var problem = doc.RootElement.Clone();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal); // no stack trace
        return problem;
    }

    [Fact]
    public async Task Metrics_expose_the_fleet_in_the_prometheus_text_format()
    {
        using var response = await Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("0.0.4", response.Content.Headers.ContentType?.Parameters.Single(p => p.Name == "version").Value);
        var lines = (await response.Content.ReadAsStringAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // The seeded fleet: web-0 ready, web-1 in backoff after 3 restarts, worker-0 ready; one escalated incident.
        Assert.Contains("autonomic_instances{service=\"web\",state=\"backoff\"} 1", lines);
        Assert.Contains("autonomic_instance_ready{service=\"web\",instance_id=\"web-0\"} 1", lines);
        Assert.Contains("autonomic_instance_ready{service=\"web\",instance_id=\"web-1\"} 0", lines);
        Assert.Contains("autonomic_instance_restarts_total{service=\"web\",instance_id=\"web-1\"} 3", lines);
        Assert.Contains("autonomic_incidents_open{service=\"web\"} 1", lines);
        Assert.Contains("autonomic_incidents_total{service=\"worker\",cause=\"hang\"} 1", lines);
        Assert.Contains("autonomic_last_incident_time_to_detect_seconds{service=\"worker\",cause=\"hang\"} 1.5", lines);
        Assert.Contains("autonomic_last_incident_time_to_mitigate_seconds{service=\"worker\",cause=\"hang\"} 0.75", lines);
        // Every sample line belongs to a declared metric family.
        var families = lines.Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToHashSet();
        Assert.All(lines.Where(l => !l.StartsWith('#')), l => Assert.Contains(l[..l.IndexOf('{', StringComparison.Ordinal)], families));
    }

    [Fact]
    public async Task Healthz_answers_ok()
    {
        using var response = await Http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Status_groups_instances_by_service_and_counts_open_incidents()
    {
        var status = await GetJsonAsync("/api/v1/status");
        var services = status.GetProperty("services").EnumerateArray().ToList();
        Assert.Equal(["web", "worker"], services.Select(s => s.GetProperty("name").GetString()));
        var web = services[0];
        Assert.Equal(2, web.GetProperty("replicas").GetInt32());
        Assert.Equal(1, web.GetProperty("ready").GetInt32());
        var instances = web.GetProperty("instances").EnumerateArray().ToList();
        Assert.Equal(["web-0", "web-1"], instances.Select(i => i.GetProperty("id").GetString()));
        Assert.Equal("ready", instances[0].GetProperty("state").GetString());
        Assert.Equal("backoff", instances[1].GetProperty("state").GetString());
        Assert.False(instances[1].TryGetProperty("pid", out _)); // nulls are omitted
        // inc-1 is escalated (still needs a human); inc-old is resolved.
        Assert.Equal(1, status.GetProperty("incidentsOpen").GetInt32());
    }

    [Fact]
    public async Task Instances_lists_every_instance()
    {
        var instances = await GetJsonAsync("/api/v1/instances");
        Assert.Equal(["web-0", "web-1", "worker-0"], instances.EnumerateArray().Select(i => i.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Incidents_are_newest_first_with_times_in_milliseconds()
    {
        var incidents = (await GetJsonAsync("/api/v1/incidents")).EnumerateArray().ToList();
        Assert.Equal(["inc-1", "inc-old"], incidents.Select(i => i.GetProperty("id").GetString()));
        Assert.Equal(120, incidents[0].GetProperty("timeToDetectMs").GetInt64());
        Assert.True(!incidents[0].TryGetProperty("timeToMitigateMs", out var ttm) || ttm.ValueKind == JsonValueKind.Null);
        Assert.Equal(1500, incidents[1].GetProperty("timeToDetectMs").GetInt64());
        Assert.Equal(750, incidents[1].GetProperty("timeToMitigateMs").GetInt64());
        Assert.Equal("escalated", incidents[0].GetProperty("status").GetString());
        Assert.False(incidents[0].TryGetProperty("timeToDetect", out _));

        var limited = await GetJsonAsync("/api/v1/incidents?limit=1");
        Assert.Equal("inc-1", Assert.Single(limited.EnumerateArray().ToList()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task Incident_detail_carries_its_actions_only()
    {
        var incident = await GetJsonAsync("/api/v1/incidents/inc-1");
        Assert.Equal("crash_loop", incident.GetProperty("cause").GetString());
        Assert.Equal("3 in 60s", incident.GetProperty("evidence").GetProperty("restarts").GetString());
        var action = Assert.Single(incident.GetProperty("actions").EnumerateArray().ToList());
        Assert.Equal("act-1", action.GetProperty("id").GetString());
        Assert.Equal("succeeded", action.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Unknown_incident_is_a_404_problem()
    {
        using var response = await Http.GetAsync("/api/v1/incidents/inc-nope");
        var problem = await AssertProblemAsync(response, HttpStatusCode.NotFound);
        Assert.Contains("inc-nope", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("/api/v1/incidents?limit=abc", "limit")]
    [InlineData("/api/v1/incidents?limit=0", "limit")]
    [InlineData("/api/v1/actions?limit=100000", "limit")]
    [InlineData("/api/v1/events?limit=-1", "limit")]
    [InlineData("/api/v1/logs/web-0?lines=many", "lines")]
    public async Task Bad_query_values_are_400_problems(string path, string name)
    {
        using var response = await Http.GetAsync(path);
        var problem = await AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(name, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Actions_filter_by_incident_newest_first()
    {
        var all = await GetJsonAsync("/api/v1/actions");
        // Other tests' changes through the API add the gateway's audit actions; the seeded ones are the healer's.
        Assert.Equal(["act-1", "act-0"], all.EnumerateArray().Where(a => a.GetProperty("agent").GetString() == "healer").Select(a => a.GetProperty("id").GetString()));
        var one = await GetJsonAsync("/api/v1/actions?incident=inc-old&limit=5");
        Assert.Equal("act-0", Assert.Single(one.EnumerateArray().ToList()).GetProperty("id").GetString());
    }

    [Fact]
    public async Task Events_filter_by_subject_and_keep_the_newest()
    {
        var web0 = await GetJsonAsync("/api/v1/events?subject=web-0");
        Assert.Equal(["instance.started", "probe.succeeded"], web0.EnumerateArray().Select(e => e.GetProperty("type").GetString()));
        var last = await GetJsonAsync("/api/v1/events?limit=1");
        Assert.Equal("probe.succeeded", Assert.Single(last.EnumerateArray().ToList()).GetProperty("type").GetString());
        Assert.Equal(1111, web0[0].GetProperty("data").GetProperty("pid").GetInt32());
    }

    [Fact]
    public async Task Logs_of_an_instance_are_its_last_lines()
    {
        using var response = await Http.GetAsync("/api/v1/logs/web-0?lines=2");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("web zero line 4\nweb zero line 5\n", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Logs_of_a_service_prefix_each_line_with_its_instance()
    {
        var text = await Http.GetStringAsync("/api/v1/logs/web?lines=1");
        Assert.Equal("web-0 | web zero line 5\nweb-1 | web one only line\n", text);
    }

    [Fact]
    public async Task Logs_of_an_unknown_target_are_a_404_problem()
    {
        using var response = await Http.GetAsync("/api/v1/logs/nothing-here");
        await AssertProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("/api/v1/logs/%2E%2E%2Fsecret")]
    [InlineData("/api/v1/logs/..%2Fsecret")]
    [InlineData("/api/v1/logs/Web-0")]
    [InlineData("/api/v1/logs/-web")]
    public async Task Log_targets_that_are_not_plain_names_are_rejected(string path)
    {
        using var response = await Http.GetAsync(new Uri(path, UriKind.Relative));
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("TOP SECRET", body, StringComparison.Ordinal);
        await AssertProblemAsync(response, HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Chaos_passes_the_fault_to_the_injector_and_answers_202()
    {
        using var response = await Http.PostAsJsonAsync("/api/v1/chaos", new { fault = "hang", target = "web/1" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var result = await response.Content.ReadFromJsonAsync<FaultResult>();
        Assert.Equal(new FaultResult("hang", "web-1", 4242, "hang injected"), result);
        Assert.Contains(("hang", "web/1"), fx.Injector.Calls);
    }

    [Theory]
    [InlineData("""{"fault":"explode","target":"web"}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"fault":"kill"}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"fault":"kill","target":"../web"}""", HttpStatusCode.BadRequest)]
    [InlineData("""{"fault":"kill",""", HttpStatusCode.BadRequest)]
    [InlineData("""{"fault":"kill","target":"nope"}""", HttpStatusCode.NotFound)]
    public async Task Bad_chaos_requests_are_problems(string body, HttpStatusCode status)
    {
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");
        using var response = await Http.PostAsync("/api/v1/chaos", content);
        await AssertProblemAsync(response, status);
        Assert.DoesNotContain(fx.Injector.Calls, c => c.Target is "../web");
    }

    [Fact]
    public async Task Unknown_routes_are_404_problems()
    {
        using var response = await Http.GetAsync("/api/v1/nothing");
        await AssertProblemAsync(response, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task A_failing_store_gives_503_problems_not_500s()
    {
        await using var host = await GatewayHost.StartAsync("http://127.0.0.1:0", new GatewayOptions { LogDirectory = fx.LogDirectory, Auth = AuthModes.None }, services =>
        {
            services.AddSingleton<IStateStore, FailingStateStore>();
            services.AddSingleton<IFaultInjector, RecordingFaultInjector>();
        });
        using var http = new HttpClient { BaseAddress = host.Address };
        foreach (var path in new[] { "/api/v1/status", "/api/v1/instances", "/api/v1/incidents", "/api/v1/incidents/x", "/api/v1/actions", "/api/v1/events", "/api/v1/logs/web-0" })
        {
            using var response = await http.GetAsync(path);
            var problem = await AssertProblemAsync(response, HttpStatusCode.ServiceUnavailable);
            Assert.DoesNotContain("database is locked", problem.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_taken_port_is_named_in_the_error()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var error = await Assert.ThrowsAsync<GatewayStartException>(() => GatewayHost.StartAsync($"http://127.0.0.1:{port}", new GatewayOptions { Auth = AuthModes.None }, services =>
        {
            services.AddSingleton(GatewayFixture.CreateStore());
            services.AddSingleton<IFaultInjector, RecordingFaultInjector>();
        }));
        Assert.Contains(port.ToString(), error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://0.0.0.0:7411")]
    [InlineData("https://127.0.0.1:7411")]
    [InlineData("not a url")]
    public async Task Only_loopback_http_addresses_are_accepted(string url)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => GatewayHost.StartAsync(url, new GatewayOptions(), _ => { }));
    }

    [Fact]
    public async Task The_gateway_borrows_the_control_planes_services_without_disposing_them()
    {
        await using var store = GatewayFixture.CreateStore();
        await store.MigrateAsync();
        await store.UpsertInstanceAsync(new InstanceRecord { Id = "api-0", Service = "api" });
        await using var outer = new ServiceCollection()
            .AddSingleton<IStateStore>(store)
            .AddSingleton<IFaultInjector>(fx.Injector)
            .BuildServiceProvider();
        await using (var host = await GatewayHost.StartAsync("http://127.0.0.1:0", new GatewayOptions { LogDirectory = fx.LogDirectory, Auth = AuthModes.None }, outer))
        {
            using var http = new HttpClient { BaseAddress = host.Address };
            var instances = await http.GetFromJsonAsync<JsonElement>("/api/v1/instances");
            Assert.Equal("api-0", Assert.Single(instances.EnumerateArray().ToList()).GetProperty("id").GetString());
        }

        // Still usable: the gateway did not dispose what it borrowed.
        Assert.Equal("api-0", Assert.Single(await store.ListInstancesAsync()).Id);
    }
}
