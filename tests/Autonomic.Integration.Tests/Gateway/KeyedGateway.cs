using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Autonomic.Backends.Bus;
using Autonomic.Backends.Store;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;
using Autonomic.Gateway;
using Autonomic.Gateway.Auth;
using Microsoft.Extensions.DependencyInjection;

namespace Autonomic.Integration.Tests.Gateway;

/// <summary>
/// A real gateway (Kestrel on a free loopback port) that requires API keys: a real SQLite state store, the in-memory
/// document store and bus, and a bootstrap admin key. Keys of other roles are made through the API.
/// </summary>
public sealed class KeyedGateway : IAsyncLifetime
{
    private readonly Action<GatewayOptions>? configure;
    private GatewayHost? host;

    public KeyedGateway() : this(null)
    {
    }

    internal KeyedGateway(Action<GatewayOptions>? configure) => this.configure = configure;

    public string AdminKey { get; } = ApiKeyFormat.Generate().Key;
    internal IStateStore Store { get; } = GatewayFixture.CreateStore();
    internal InMemoryDocumentStore Documents { get; } = new();
    internal InMemoryBus Bus { get; } = new();
    internal RecordingFaultInjector Injector { get; } = new();
    internal GatewayHost Host => host!;
    public Uri Address => host!.Address;
    public List<string> Announced { get; } = [];

    public async Task InitializeAsync()
    {
        await Store.MigrateAsync();
        await Store.SaveServiceAsync(new ServiceSpec { Name = "web", Command = "web", Replicas = 2, Port = 9100 });
        var options = new GatewayOptions { LogDirectory = Path.GetTempPath(), BootstrapKey = AdminKey, AnnounceBootstrapKey = Announced.Add };
        configure?.Invoke(options);
        host = await GatewayHost.StartAsync("http://127.0.0.1:0", options, services =>
        {
            services.AddSingleton(Store);
            services.AddSingleton<IFaultInjector>(Injector);
            services.AddSingleton<IDocumentStore>(Documents);
            services.AddSingleton<IEventBus>(Bus);
        });
    }

    public HttpClient Client(string? key = null)
    {
        var http = new HttpClient { BaseAddress = Address };
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return http;
    }

    /// <summary>Creates a key through the API with the admin key.</summary>
    public async Task<CreatedApiKey> CreateKeyAsync(string role, int? rate = null, int? burst = null, string name = "test")
    {
        using var admin = Client(AdminKey);
        using var response = await admin.PostAsJsonAsync("/api/v1/keys", new CreateKeyRequest(name, role, rate, burst), JsonDefaults.Options);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, text);
        return JsonSerializer.Deserialize<CreatedApiKey>(text, JsonDefaults.Options)!;
    }

    public async Task DisposeAsync()
    {
        if (host is not null)
        {
            await host.DisposeAsync();
        }

        await Bus.DisposeAsync();
        await Store.DisposeAsync();
    }
}
