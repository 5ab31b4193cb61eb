using System.Net;
using System.Text.Json;
using Autonomic.Core.Abstractions;
using Autonomic.Gateway;
using Autonomic.Gateway.Dashboard;
using Microsoft.Extensions.DependencyInjection;

namespace Autonomic.Integration.Tests.Gateway;

/// <summary>A real gateway serving a dashboard build from a temporary web root (a stand-in index.html and asset).</summary>
public sealed class DashboardServingTests : IAsyncLifetime
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "autonomic-dashboard-" + Guid.NewGuid().ToString("N"));
    private readonly IStateStore store = GatewayFixture.CreateStore();
    private GatewayHost? host;
    private HttpClient http = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(root, "assets"));
        await File.WriteAllTextAsync(Path.Combine(root, "index.html"), "<!doctype html><title>Autonomic</title><div id=root></div>");
        await File.WriteAllTextAsync(Path.Combine(root, "assets", "index-abc123.js"), "console.log('app');");
        await store.MigrateAsync();
        host = await GatewayHost.StartAsync("http://127.0.0.1:0", new GatewayOptions { Auth = global::Autonomic.Gateway.AuthModes.None, LogDirectory = root }, services =>
        {
            services.AddSingleton(store);
            services.AddSingleton<IFaultInjector>(new RecordingFaultInjector());
            services.AddAutonomicDashboard(new DashboardOptions { WebRoot = root, Demo = true });
        });
        http = new HttpClient { BaseAddress = host.Address };
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        if (host is not null)
        {
            await host.DisposeAsync();
        }

        await store.DisposeAsync();
        Directory.Delete(root, recursive: true);
    }

    [Theory]
    [InlineData("/")]
    [InlineData("/incidents/inc-1")]
    [InlineData("/services/web")]
    public async Task Pages_get_the_index_with_a_same_origin_content_security_policy(string path)
    {
        using var response = await http.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<div id=root>", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var csp = string.Join(' ', response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", csp, StringComparison.Ordinal);
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task Hashed_assets_are_served_with_their_type_and_cached_for_good()
    {
        using var response = await http.GetAsync("/assets/index-abc123.js");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/javascript", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("console.log('app');", await response.Content.ReadAsStringAsync());
        Assert.Contains("immutable", response.Headers.CacheControl?.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_file_is_404_not_the_index()
    {
        using var response = await http.GetAsync("/assets/missing.js");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("GET", "/api/v1/no-such-thing")]
    [InlineData("POST", "/api/v1/services/web/scale")]
    public async Task Unknown_api_paths_stay_problem_details_not_the_index(string method, string path)
    {
        using var response = await http.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("no such endpoint", doc.RootElement.GetProperty("title").GetString());
    }

    [Fact]
    public async Task The_existing_api_still_answers()
    {
        using var response = await http.GetAsync("/api/v1/status");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Info_says_demo_and_that_no_key_is_needed_without_authentication()
    {
        using var response = await http.GetAsync("/api/v1/info");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(doc.RootElement.GetProperty("demo").GetBoolean());
        Assert.Equal("none", doc.RootElement.GetProperty("auth").GetString());
        Assert.False(string.IsNullOrEmpty(doc.RootElement.GetProperty("version").GetString()));
    }
}

/// <summary>A gateway whose build has no dashboard: pages say how to get one, and the API is unaffected.</summary>
public sealed class DashboardNotBuiltTests : IAsyncLifetime
{
    private readonly IStateStore store = GatewayFixture.CreateStore();
    private GatewayHost? host;
    private HttpClient http = null!;

    public async Task InitializeAsync()
    {
        await store.MigrateAsync();
        host = await GatewayHost.StartAsync("http://127.0.0.1:0", new GatewayOptions { Auth = global::Autonomic.Gateway.AuthModes.None }, services =>
        {
            services.AddSingleton(store);
            services.AddSingleton<IFaultInjector>(new RecordingFaultInjector());
            services.AddAutonomicDashboard(new DashboardOptions { WebRoot = Path.Combine(Path.GetTempPath(), "autonomic-no-dashboard-" + Guid.NewGuid().ToString("N")) });
        });
        http = new HttpClient { BaseAddress = host.Address };
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        if (host is not null)
        {
            await host.DisposeAsync();
        }

        await store.DisposeAsync();
    }

    [Fact]
    public async Task The_root_explains_that_the_dashboard_is_not_built()
    {
        using var response = await http.GetAsync("/");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("dashboard not built", doc.RootElement.GetProperty("title").GetString());
        Assert.Contains("make build", doc.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);

        using var info = await http.GetAsync("/api/v1/info");
        using var body = JsonDocument.Parse(await info.Content.ReadAsStringAsync());
        Assert.False(body.RootElement.GetProperty("demo").GetBoolean());
    }
}
