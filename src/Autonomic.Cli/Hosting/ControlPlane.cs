using System.Net;
using Autonomic.Agents.Chaos;
using Autonomic.Agents.Fleet;
using Autonomic.Agents.Healing;
using Autonomic.Agents.Monitoring;
using Autonomic.Agents.Telemetry;
using Autonomic.Agents.Tasks;
using Autonomic.Agents.Security;
using Autonomic.Backends;
using Autonomic.Backends.Functions;
using Autonomic.Backends.Leases;
using Autonomic.Backends.Objects;
using Autonomic.Backends.Runtime;
using Autonomic.Backends.Store;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;
using Autonomic.Gateway;
using Serilog;
using Autonomic.Gateway.Dashboard;
using Autonomic.Traffic;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
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
    /// <summary>The agents this process runs (<see cref="AgentRoles"/>); all of them by default.</summary>
    public IReadOnlySet<string> Roles { get; init; } = AgentRoles.All;
    /// <summary>How long a healer's lease on a service lasts without renewal.</summary>
    public TimeSpan LeaseTtl { get; init; } = TimeSpan.FromSeconds(3);
    /// <summary>Where a process without the API serves its own <c>/metrics</c> (e.g. <c>http://127.0.0.1:9464</c>); none when null.</summary>
    public string? MetricsUrl { get; init; }
    /// <summary>Runs the demo fleet: the dashboard shows its chaos panel.</summary>
    public bool Demo { get; init; }
    /// <summary>API authentication: <c>keys</c> (default) or <c>none</c> (local experiments only).</summary>
    public string Auth { get; init; } = AuthModes.Keys;
    /// <summary>Shows a generated admin key once (on the console; never in the log).</summary>
    public Action<string>? AnnounceBootstrapKey { get; init; }
    /// <summary>The admin key to create when none is stored; else AUTONOMIC_BOOTSTRAP_KEY(_FILE), else a generated one.</summary>
    public string? BootstrapKey { get; init; }
}

/// <summary>The agents a control-plane process can run: all of them (<c>autonomic up</c>) or one each (<c>autonomic agent NAME</c>).</summary>
public static class AgentRoles
{
    public const string Api = "api";
    public const string Healer = "healer";
    public const string Monitor = "monitor";
    public const string EventLog = "event-log";
    public const string Scaler = "scaler";
    public const string Optimizer = "optimizer";
    public const string Tasks = "tasks";

    public const string Security = "security";

    public static readonly IReadOnlySet<string> All = new HashSet<string>([Api, Healer, Monitor, EventLog, Scaler, Optimizer, Tasks, Security], StringComparer.Ordinal);
}

/// <summary>
/// The embedded control plane: every agent, the bus, the store and the local API in one process. Built from a
/// fleet, started with <see cref="StartAsync"/>, stopped by disposing.
/// </summary>
public sealed class ControlPlane : IAsyncDisposable
{
    private readonly IHost _app;

    private ControlPlane(IHost app, FleetSpec fleet, IReadOnlySet<string> roles)
    {
        _app = app;
        Fleet = fleet;
        Roles = roles;
    }

    /// <summary>The agents this process runs.</summary>
    public IReadOnlySet<string> Roles { get; }

    /// <summary>The fleet's name in its instances' environment: every agent on one store derives the same.</summary>
    public static string FleetIdOf(string storeUrl) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(storeUrl)))[..16];

    private static async ValueTask DisposeHostAsync(IHost host)
    {
        if (host is IAsyncDisposable d)
        {
            await d.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            host.Dispose();
        }
    }

    public FleetSpec Fleet { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The API's base URL.</summary>
    public string ApiUrl => Fleet.Settings.Api;

    /// <summary>Builds the control plane; the store schema is migrated here, so a bad or unreachable store fails early.</summary>
    public static async Task<ControlPlane> CreateAsync(FleetSpec fleet, ControlPlaneOptions options, CancellationToken cancellationToken = default)
    {
        var settings = fleet.Settings;
        var roles = options.Roles;
        var serveApi = roles.Contains(AgentRoles.Api);
        WebApplicationBuilder? web = null;
        IHostApplicationBuilder builder;
        if (serveApi || options.MetricsUrl is not null)
        {
            web = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = Directory.GetCurrentDirectory() });
            web.WebHost.UseUrls(serveApi ? settings.Api : options.MetricsUrl!);
            builder = web;
        }
        else
        {
            builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = Directory.GetCurrentDirectory() });
        }

        builder.Logging.ClearProviders();
        if (options.LogFormat == "json")
        {
            // ECS JSON through Serilog: one object a line that Filebeat / Logstash ingest as they are.
            var serilog = new Serilog.LoggerConfiguration()
                .MinimumLevel.Is(options.MinimumLevel >= LogLevel.Warning ? Serilog.Events.LogEventLevel.Warning : Serilog.Events.LogEventLevel.Information)
                .WriteTo.Console(new EcsJsonFormatter("autonomic"), standardErrorFromLevel: null)
                .CreateLogger();
            builder.Logging.AddProvider(new Serilog.Extensions.Logging.SerilogLoggerProvider(serilog, dispose: true));
        }
        else
        {
            builder.Logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss.fff ";
                o.IncludeScopes = true;
            });
        }

        builder.Logging.SetMinimumLevel(options.MinimumLevel);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));

        var time = TimeProvider.System;

        var services = builder.Services;
        services.AddSingleton(time);
        services.AddSingleton(fleet);
        services.AddSingleton(sp => BackendRegistry.CreateStore(settings.Store, sp.GetRequiredService<ILoggerFactory>()));
        // Every store keeps documents too (API keys, tasks, functions, security blocks, desired state).
        services.AddSingleton(sp => (IDocumentStore)sp.GetRequiredService<IStateStore>());
        services.AddSingleton(sp => BackendRegistry.CreateBus(settings.Bus, time, sp.GetRequiredService<ILoggerFactory>()));
        services.AddSingleton(sp =>
        {
            var (leases, limiter) = LeaseBackends.Create(settings.Leases, time, sp.GetRequiredService<ILoggerFactory>());
            return new LeaseBackendPair(leases, limiter);
        });
        services.AddSingleton(sp => sp.GetRequiredService<LeaseBackendPair>().Leases);
        services.AddSingleton(sp => sp.GetRequiredService<LeaseBackendPair>().RateLimiter);
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
            LeaseTtl = options.LeaseTtl,
            FleetId = FleetIdOf(settings.Store),
            LaunchDelay = int.TryParse(Environment.GetEnvironmentVariable("AUTONOMIC_CHAOS_LAUNCH_DELAY_MS"), out var delayMs) && delayMs > 0
                ? TimeSpan.FromMilliseconds(delayMs)
                : TimeSpan.Zero,
        });
        services.AddSingleton(options.Monitor);
        services.AddSingleton<FleetMetrics>();
        services.AddHostedService(sp => sp.GetRequiredService<FleetMetrics>());
        if (roles.Contains(AgentRoles.EventLog))
        {
            services.AddHostedService<EventLogRecorder>();
        }

        if (roles.Contains(AgentRoles.Healer))
        {
            services.AddSingleton(sp =>
            {
                var healer = ActivatorUtilities.CreateInstance<HealerAgent>(sp);
                healer.LogRotation = (path, max, keep) => LogRotator.RotateIfNeeded(path, max, keep);
                return healer;
            });
            services.AddHostedService(sp => sp.GetRequiredService<HealerAgent>());
            services.AddAutonomicTraffic(fleet);
        }
        else
        {
            // Without a healer in this process, the live view comes from the store the healers write.
            services.AddHostedService<StoreInstanceFeed>();
        }

        // Object stores and functions are used by the API and by the task agent's workers.
        services.AddObjectStores(settings.Objects);
        services.AddFunctions(new FunctionsOptions
        {
            Directory = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(settings.LogDirectory)) ?? ".autonomic", "functions"),
            LogDirectory = settings.LogDirectory,
        });

        // The API serves tasks in every process that has it; the workers run in the tasks role.
        var tasks = new TaskAgentOptions { LogDirectory = Path.Combine(settings.LogDirectory, "tasks") };
        if (roles.Contains(AgentRoles.Tasks))
        {
            // Task targets: every configured object store by name (and the default one as "default"), functions, jobs.
            services.AddSingleton(sp =>
            {
                var registry = sp.GetRequiredService<ObjectStores>();
                var stores = registry.Names.ToDictionary(n => n, n => registry.Get(n)!, StringComparer.Ordinal);
                if (registry.Get(registry.Default) is { } fallback)
                {
                    stores.TryAdd(Core.Tasks.TaskInputs.DefaultStore, fallback);
                }

                return new TaskTargets { ObjectStores = stores, Functions = sp.GetService<IFunctionInvoker>(), Runtime = sp.GetService<IProcessRuntime>() };
            });
            services.AddTaskAgent(tasks);
        }
        else if (serveApi)
        {
            services.AddTaskBoard(tasks);
        }

        if (roles.Contains(AgentRoles.Monitor))
        {
            services.AddSingleton<MonitorAgent>();
            services.AddHostedService(sp => sp.GetRequiredService<MonitorAgent>());
        }

        if (roles.Contains(AgentRoles.Scaler))
        {
            services.AddSingleton(new Agents.Scaling.ScalingAgentOptions { DryRun = settings.DryRun });
            services.AddSingleton<Agents.Scaling.ScalingAgent>();
            services.AddHostedService(sp => sp.GetRequiredService<Agents.Scaling.ScalingAgent>());
        }

        if (roles.Contains(AgentRoles.Optimizer))
        {
            services.AddSingleton(new Agents.Optimization.OptimizerOptions { DryRun = settings.DryRun });
            services.AddSingleton<Agents.Optimization.OptimizerAgent>();
            services.AddHostedService(sp => sp.GetRequiredService<Agents.Optimization.OptimizerAgent>());
        }

        // The security agent needs the document store; without one in this process it is left out.
        if (services.Any(d => d.ServiceType == typeof(IDocumentStore)))
        {
            if (roles.Contains(AgentRoles.Security))
            {
                services.AddSecurityAgent(settings.Security with { DryRun = settings.Security.DryRun || settings.DryRun }, settings.LogDirectory);
            }
            else if (serveApi || roles.Contains(AgentRoles.Healer))
            {
                // The API and the load balancers (beside the healer) enforce what the security agent decided elsewhere.
                services.AddSecurityEnforcement();
            }
        }

        IHost host;
        if (web is not null && !serveApi)
        {
            // An agent process on its own: only its metrics and a health check.
            var app = web.Build();
            app.MapGet("/healthz", () => Results.Text("ok", "text/plain"));
            app.MapGet("/metrics", async (FleetMetrics metrics, CancellationToken ct) => Results.Text(await MetricsEndpoint.RenderAsync(metrics, ct), MetricsEndpoint.ContentType));
            host = app;
        }
        else if (web is not null)
        {
            services.AddSingleton<IFaultInjector>(sp => new FaultInjector(
                sp.GetRequiredService<InstanceRegistry>(), sp.GetRequiredService<IProcessRuntime>(), sp.GetRequiredService<IStateStore>(), time,
                new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) }));
            services.AddAutonomicGateway(new GatewayOptions
            {
                LogDirectory = settings.LogDirectory,
                Auth = options.Auth,
                BootstrapKey = options.BootstrapKey ?? BootstrapKey(),
                AnnounceBootstrapKey = options.AnnounceBootstrapKey,
            });
            services.AddAutonomicDashboard(new DashboardOptions { Demo = options.Demo });
            var app = web.Build();
            app.UseAutonomicGateway();
            host = app;
        }
        else
        {
            host = ((HostApplicationBuilder)builder).Build();
        }

        Wire(host.Services);
        try
        {
            await host.Services.GetRequiredService<IStateStore>().MigrateAsync(cancellationToken).ConfigureAwait(false);
            // Built now so that a store that cannot be opened stops the start, not the first upload.
            _ = host.Services.GetService<ObjectStores>();
        }
        catch
        {
            await DisposeHostAsync(host).ConfigureAwait(false);
            throw;
        }

        return new ControlPlane(host, fleet, options.Roles);
    }

    /// <summary>
    /// Connects the parts a process runs that do not know each other: the healer drains instances through the load
    /// balancer before stopping them, and /metrics carries the load balancer's and the task queue's numbers.
    /// </summary>
    private static void Wire(IServiceProvider services)
    {
        var metrics = services.GetRequiredService<FleetMetrics>();
        if (services.GetService<HealerAgent>() is { } healer && services.GetService<ILoadBalancerDrain>() is { } drain and not NoLoadBalancerDrain)
        {
            healer.Drain = (id, timeout, ct) => drain.DrainAsync(id, timeout, ct);
        }

        if (services.GetService<HealerAgent>() is { } guarded && services.GetService<IQuarantine>() is { } quarantine)
        {
            guarded.Quarantine = quarantine;
        }

        if (services.GetService<TrafficMetrics>() is { } traffic)
        {
            metrics.AddTextSource(traffic.WritePrometheus);
        }

        if (services.GetService<Agents.Security.SecurityEnforcement>() is { } enforcement)
        {
            metrics.Registry.AddBeforeCollectCallback(() =>
            {
                metrics.SecurityBlocksActive.Set(enforcement.Blocks.Count);
                metrics.SecurityRateLimitsActive.Set(enforcement.Limits.Count);
                metrics.SecurityQuarantinesActive.Set(enforcement.Quarantines.Count);
            });
        }

        if (services.GetService<TaskBoard>() is { } board)
        {
            metrics.Registry.AddBeforeCollectCallback(async ct =>
            {
                var stats = await board.StatsAsync(ct).ConfigureAwait(false);
                metrics.TaskQueueDepth.Set(stats.Depth);
                metrics.TaskOldestAge.Set(stats.OldestAgeSeconds);
            });
        }
    }
    /// <summary>The admin key from AUTONOMIC_BOOTSTRAP_KEY, or from the file AUTONOMIC_BOOTSTRAP_KEY_FILE names.</summary>
    private static string? BootstrapKey() =>
        Environment.GetEnvironmentVariable("AUTONOMIC_BOOTSTRAP_KEY") is { Length: > 0 } key ? key.Trim()
        : Environment.GetEnvironmentVariable("AUTONOMIC_BOOTSTRAP_KEY_FILE") is { Length: > 0 } file ? File.ReadAllText(file).Trim()
        : null;

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
    public Task Adopted => _app.Services.GetService<HealerAgent>()?.Adopted ?? Task.CompletedTask;

    /// <summary>Stops the agents (and, unless told to leave them running, the instances).</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await DisposeHostAsync(_app).ConfigureAwait(false);
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

/// <summary>The lease manager and rate limiter of one lease backend (they share its connection).</summary>
internal sealed record LeaseBackendPair(ILeaseManager Leases, IRateLimiter RateLimiter);

/// <summary>
/// Fills the live view from the store every 200 ms, for processes without a healer (the healers write the instances
/// there): records new or changed since the last read are set, records gone from the store are removed. An instance of
/// a service with no spec (neither in the fleet file nor in the store) is left out, and the view is then not complete.
/// </summary>
internal sealed class StoreInstanceFeed(IStateStore store, FleetSpec fleet, InstanceRegistry registry, TimeProvider time, ILogger<StoreInstanceFeed> logger) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(200);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var specs = fleet.Services.ToDictionary(s => s.Name, StringComparer.Ordinal);
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            try
            {
                var records = await store.ListInstancesAsync(stoppingToken).ConfigureAwait(false);
                // Services created through the API are not in the fleet file; their specs are in the store.
                Dictionary<string, ServiceSpec>? stored = null;
                var complete = true;
                foreach (var record in records)
                {
                    if (!specs.TryGetValue(record.Service, out var spec))
                    {
                        stored ??= (await store.ListServicesAsync(stoppingToken).ConfigureAwait(false)).ToDictionary(s => s.Name, StringComparer.Ordinal);
                        spec = stored.GetValueOrDefault(record.Service);
                    }

                    if (spec is null)
                    {
                        complete = false;
                    }
                    else if (registry.Get(record.Id)?.Record != record)
                    {
                        registry.Set(new LiveInstance(record, spec, null));
                    }
                }

                var ids = records.Select(r => r.Id).ToHashSet(StringComparer.Ordinal);
                foreach (var gone in registry.Snapshot().Where(i => !ids.Contains(i.Record.Id)))
                {
                    registry.Remove(gone.Record.Id);
                }

                registry.Complete = complete;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // Stale from now on: whoever must agree with the store reads it (and hears it fail).
                registry.Complete = false;
                logger.LogWarning(ex, "reading instances from the store failed; retrying");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }
}

/// <summary>Appends every event but metric samples and gateway access records to the store's event log (they are too many to keep).</summary>
internal sealed class EventLogRecorder(IEventBus bus, IStateStore store) : IHostedService
{
    private IAsyncDisposable? _subscription;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription = bus.Subscribe("#", "event-log", (evt, ct) =>
            evt.Type is EventTypes.MetricSample or EventTypes.GatewayAccess ? Task.CompletedTask : store.AppendEventAsync(evt, ct));
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
