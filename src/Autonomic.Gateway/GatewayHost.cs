using System.Net;
using Autonomic.Core.Abstractions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Autonomic.Gateway;

/// <summary>The gateway could not start listening; the message names the address and port.</summary>
public sealed class GatewayStartException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A running Autonomic HTTP API on a loopback address. Started inside the control plane process; dispose to stop.
/// </summary>
public sealed class GatewayHost : IAsyncDisposable
{
    private readonly WebApplication app;

    private GatewayHost(WebApplication app, Uri address)
    {
        this.app = app;
        Address = address;
    }

    /// <summary>Where it listens, with the real port (useful when started on port 0).</summary>
    public Uri Address { get; }

    /// <summary>The gateway's own service provider.</summary>
    public IServiceProvider Services => app.Services;

    /// <summary>
    /// Starts the API on <paramref name="url"/> (a loopback <c>http://</c> URL; port 0 picks a free port) using the
    /// <see cref="IStateStore"/>, <see cref="IFaultInjector"/>, <see cref="IDocumentStore"/> and <see cref="IEventBus"/> (when
    /// registered), <see cref="TimeProvider"/> and logging of
    /// <paramref name="source"/>, the control plane's provider. Throws <see cref="GatewayStartException"/> when the port is taken.
    /// </summary>
    public static Task<GatewayHost> StartAsync(string url, GatewayOptions options, IServiceProvider source, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        return StartAsync(url, options, services =>
        {
            // The very store and injector the agents use, registered as instances so that disposing the gateway's
            // container leaves them alone: the control plane owns and disposes them.
            services.AddSingleton(source.GetRequiredService<IStateStore>());
            services.AddSingleton(source.GetRequiredService<IFaultInjector>());
            if (source.GetService<IDocumentStore>() is { } documents)
            {
                services.AddSingleton(documents);
            }

            if (source.GetService<IEventBus>() is { } bus)
            {
                services.AddSingleton(bus);
            }
            if (source.GetService<TimeProvider>() is { } time)
            {
                services.AddSingleton(time);
            }

            if (source.GetService<ILoggerFactory>() is { } logs)
            {
                services.AddSingleton(logs);
            }
        }, cancellationToken);
    }

    /// <summary>
    /// Starts the API on <paramref name="url"/>; <paramref name="configureServices"/> must register
    /// <see cref="IStateStore"/> and <see cref="IFaultInjector"/>. Throws <see cref="GatewayStartException"/> when the port is taken.
    /// </summary>
    public static async Task<GatewayHost> StartAsync(string url, GatewayOptions options, Action<IServiceCollection> configureServices, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configureServices);
        var uri = ParseLoopback(url);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        // The control plane owns the console; the gateway logs only through providers the host passes in.
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls(uri.GetLeftPart(UriPartial.Authority));
        builder.Services.AddAutonomicGateway(options);
        configureServices(builder.Services);

        var app = builder.Build();
        app.UseAutonomicGateway();

        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException e)
        {
            await app.DisposeAsync();
            throw new GatewayStartException($"cannot listen on {uri.GetLeftPart(UriPartial.Authority)}: port {uri.Port} is already in use (is another control plane running?)", e);
        }

        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        return new GatewayHost(app, bound is null ? uri : new Uri(bound));
    }

    /// <summary>Stops accepting requests and waits for those in flight.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => app.StopAsync(cancellationToken);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await app.StopAsync();
        }
        finally
        {
            await app.DisposeAsync();
        }
    }

    private static Uri ParseLoopback(string url)
    {
        // Plain HTTP carries the API keys in clear text: the API listens on this machine only (put a TLS proxy in front).
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            throw new ArgumentException($"the API address must be an http:// URL, not '{url}'", nameof(url));
        }

        if (!(IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip)) && uri.Host != "localhost")
        {
            throw new ArgumentException($"the API must listen on a loopback address such as 127.0.0.1, not '{uri.Host}'", nameof(url));
        }

        return uri;
    }
}
