using Autonomic.Backends.Objects;
using Autonomic.Core.Abstractions;
using Autonomic.Gateway;
using Autonomic.Integration.Tests.Gateway;
using Microsoft.Extensions.DependencyInjection;

namespace Autonomic.Integration.Tests.Objects;

/// <summary>
/// A real gateway on a free port serving two object stores: <c>local</c> (a directory, the default) and <c>s3</c>
/// (a bucket on a real s3rver), with uploads limited to <see cref="MaxUpload"/>.
/// </summary>
public sealed class ObjectsGatewayFixture : IAsyncLifetime
{
    public const long MaxUpload = 2L * 1024 * 1024 * 1024;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "autonomic-objects-api-" + Guid.NewGuid().ToString("N"));
    private readonly S3rverFixture _s3 = new();
    private readonly Autonomic.Core.Abstractions.IStateStore _state = GatewayFixture.CreateStore();
    private GatewayHost? _host;

    public ObjectStores Stores { get; private set; } = null!;
    public string LocalRoot => Path.Combine(_root, "local");
    public string Root => _root;
    public Uri Address => _host!.Address;
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await _s3.InitializeAsync();
        await _state.MigrateAsync();
        Stores = new ObjectStores(new Dictionary<string, IObjectStore>
        {
            ["local"] = new DirectoryObjectStore(LocalRoot),
            ["s3"] = _s3.CreateStore("uploads"),
        }, "local", MaxUpload);
        _host = await StartGatewayAsync(Stores);
        Http = new HttpClient { BaseAddress = _host.Address, Timeout = TimeSpan.FromMinutes(5) };
    }

    /// <summary>A gateway over <paramref name="stores"/> (which the caller keeps and disposes).</summary>
    public Task<GatewayHost> StartGatewayAsync(ObjectStores stores) =>
        GatewayHost.StartAsync("http://127.0.0.1:0", new GatewayOptions { Auth = global::Autonomic.Gateway.AuthModes.None, LogDirectory = Path.Combine(_root, "logs") }, services =>
        {
            services.AddSingleton(_state);
            services.AddSingleton<Autonomic.Core.Abstractions.IFaultInjector>(new RecordingFaultInjector());
            services.AddObjectStores(stores);
        });

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }

        await Stores.DisposeAsync();
        await _state.DisposeAsync();
        await _s3.DisposeAsync();
        Directory.Delete(_root, recursive: true);
    }
}
