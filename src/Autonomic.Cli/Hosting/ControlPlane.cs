using System.Net;
using Autonomic.Agents.Chaos;
using Autonomic.Agents.Fleet;
using Autonomic.Agents.Healing;
using Autonomic.Agents.Monitoring;
using Autonomic.Backends;
using Autonomic.Backends.Runtime;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;
using Autonomic.Gateway;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Autonomic.Cli.Hosting;

/// <summary>How the embedded control plane runs.</summary>
public sealed record ControlPlaneOptions
{
    /// <summary>Leave instances running on shutdown; the next control plane re-adopts them.</summary>
    public bool LeaveRunning { get; init; }
    /// <summary><c>text</c> or <c>json</c> (one JSON object a line, for ELK).</summary>
    public string LogFormat { get; init; } = "text";
    public LogLevel MinimumLevel { get; init; } = LogLevel.Information;
    /// <summary>Monitoring knobs (sampling interval).</summary>
    public MonitorOptions Monitor { get; init; } = new();
}

/// <summary>
/// The embedded control plane: every agent, the bus, the store and the local API in one process. Built from a
/// fleet, started with <see cref="StartAsync"/>, stopped by disposing.
/// </summary>
public sealed class ControlPlane : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IStateStore _store;

    private ControlPlane(WebApplication app, FleetSpec fleet, IStateStore store)
    {
        _app = app;
        _store = store;
        Fleet = fleet;
    }

    public FleetSpec Fleet { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The API's base URL.</summary>
    public string ApiUrl => Fleet.Settings.Api;

    /// <summary>Builds the control plane; the store schema is migrated here, so a bad store URL fails early.</summary>
    public static async Task<ControlPlane> CreateAsync(FleetSpec fleet, ControlPlaneOptions options, CancellationToken cancellationToken = default)
    {
        var settings = fleet.Settings;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = Directory.GetCurrentDirectory() });
        builder.WebHost.UseUrls(settings.Api);
        builder.Logging.ClearProviders();
        if (options.LogFormat == "json")
        {
            builder.Logging.AddJsonConsole(o => o.UseUtcTimestamp = true);
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
            });
        }

        builder.Logging.SetMinimumLevel(options.MinimumLevel);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

        var time = TimeProvider.System;
        var store = BackendRegistry.CreateStore(settings.Store);
        await store.MigrateAsync(cancellationToken).ConfigureAwait(false);

        var services = builder.Services;
        services.AddSingleton(time);
        services.AddSingleton(fleet);
        services.AddSingleton(store);
        services.AddSingleton(sp => BackendRegistry.CreateBus(settings.Bus, time, sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton<IProcessRuntime>(sp => new ProcessRuntime(time, sp.GetRequiredService<ILogger<ProcessRuntime>>()));
        services.AddSingleton<IProcessInspector, ProcInspector>();
        services.AddSingleton<IProber>(_ => new Prober(time));
        services.AddSingleton<InstanceRegistry>();
        services.AddSingleton(new HealerOptions
        {
            LogDirectory = settings.LogDirectory,
            DryRun = settings.DryRun,
            LeaveRunningOnShutdown = options.LeaveRunning,
            LogMaxBytes = settings.LogMaxBytes,
            LogFiles = settings.LogFiles,
        });
        services.AddSingleton(options.Monitor);
        services.AddSingleton(sp =>
        {
            var healer = ActivatorUtilities.CreateInstance<HealerAgent>(sp);
            healer.LogRotation = (path, max, keep) => LogRotator.RotateIfNeeded(path, max, keep);
            return healer;
        });
        services.AddSingleton<MonitorAgent>();
        services.AddHostedService<EventLogRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<HealerAgent>());
        services.AddHostedService(sp => sp.GetRequiredService<MonitorAgent>());
        services.AddSingleton<IFaultInjector>(sp => new FaultInjector(
            sp.GetRequiredService<InstanceRegistry>(), sp.GetRequiredService<IProcessRuntime>(), store, time,
            new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) }));
        services.AddAutonomicGateway(new GatewayOptions { LogDirectory = settings.LogDirectory });

        var app = builder.Build();
        app.MapAutonomicApi();
        return new ControlPlane(app, fleet, store);
    }

    /// <summary>Starts the API and the agents. A taken API port is reported with the port.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            await _app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex) when (ex.InnerException is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse } || ex.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(
                $"the API address {ApiUrl} is already in use (port {new Uri(ApiUrl).Port}) — is another control plane running? Set control_plane.api or AUTONOMIC_API to another port.", ex);
        }
    }

    /// <summary>Completes once earlier instances have been re-adopted and the healer is running.</summary>
    public Task Adopted => _app.Services.GetRequiredService<HealerAgent>().Adopted;

    /// <summary>Stops the agents (and, unless told to leave them running, the instances).</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync().ConfigureAwait(false);
        // Registered as an instance, so the container leaves it to its creator.
        await _store.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>True when something answers on the API URL's port.</summary>
    public static bool IsPortTaken(string apiUrl)
    {
        var uri = new Uri(apiUrl);
        try
        {
            using var listener = new System.Net.Sockets.TcpListener(IPAddress.Parse(uri.Host == "localhost" ? "127.0.0.1" : uri.Host), uri.Port);
            listener.Start();
            return false;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return true;
        }
    }
}

/// <summary>Appends every event but metric samples to the store's event log (the samples are too many to keep).</summary>
internal sealed class EventLogRecorder(IEventBus bus, IStateStore store) : IHostedService
{
    private IAsyncDisposable? _subscription;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription = bus.Subscribe("#", "event-log", (evt, ct) =>
            evt.Type == EventTypes.MetricSample ? Task.CompletedTask : store.AppendEventAsync(evt, ct));
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_subscription is not null)
        {
            await _subscription.DisposeAsync().ConfigureAwait(false);
        }
    }
}
