using System.Text.Json;
using Autonomic.Agents.Security.Rules;
using Autonomic.Agents.Security.Sources;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Security;
using Autonomic.Core.Specs;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Autonomic.Agents.Security;

/// <summary>
/// The security agent: watches the gateway's access events and the configured logs, runs every detector
/// (<see cref="SecurityPipeline"/>), and has the <see cref="SecurityResponder"/> act on the alerts. One pass of its loop
/// reads the followed logs and lifts expired responses; a failing pass is logged and the next one runs.
/// </summary>
public sealed partial class SecurityAgent(
    IEventBus bus, IDocumentStore docs, SecurityResponder responder, SecurityEnforcement enforcement, SecurityOptions options, RulePack pack, TimeProvider time, ILogger<SecurityAgent> logger)
    : BackgroundService
{
    /// <summary>How often the log directory is looked at for instances' logs not yet followed.</summary>
    public static readonly TimeSpan DiscoveryInterval = TimeSpan.FromSeconds(2);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private SecurityPipeline? _pipeline;
    private readonly List<(LogTailer Tailer, SecurityLogSource Source, string? Instance)> _tailers = [];
    private readonly HashSet<string> _followed = new(StringComparer.Ordinal);
    private long _lastDiscovery;
    private bool _discoveredOnce;

    /// <summary>Alerts raised since start.</summary>
    public long Alerts { get; private set; }

    /// <summary>Runs one event through the detectors and responds to what they find.</summary>
    public async Task ObserveAsync(LogEvent evt, CancellationToken cancellationToken)
    {
        var alerts = new List<SecurityAlert>();
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _pipeline ??= new SecurityPipeline(pack, time.GetUtcNow().Year);
            _pipeline.Observe(evt, alerts);
        }
        finally
        {
            _gate.Release();
        }

        foreach (var alert in alerts)
        {
            Alerts++;
            await responder.HandleAsync(alert, cancellationToken).ConfigureAwait(false);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _pipeline ??= new SecurityPipeline(pack, time.GetUtcNow().Year);
        try
        {
            await enforcement.RefreshAsync(docs, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogPassFailed(logger, e);
        }

        foreach (var source in options.Logs)
        {
            _followed.Add(Path.GetFullPath(source.Path));
            _tailers.Add((new LogTailer(source.Path, source.FromStart), source, null));
        }

        await using var subscription = bus.Subscribe(EventTypes.GatewayAccess, "security", async (evt, ct) =>
        {
            if (evt.Data?.Deserialize<AccessEvent>(JsonDefaults.Options) is { } access)
            {
                await ObserveAsync(SecurityPipeline.FromAccess(access), ct).ConfigureAwait(false);
            }
        }, new SubscriptionOptions { Capacity = 100_000 });

        using var timer = new PeriodicTimer(options.PollInterval, time);
        try
        {
            do
            {
                try
                {
                    await PassAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogPassFailed(logger, e);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        finally
        {
            foreach (var (tailer, _, _) in _tailers)
            {
                tailer.Dispose();
            }
        }
    }

    /// <summary>One pass: instances' logs not followed yet, new lines of every followed log, then expiry.</summary>
    public async Task PassAsync(CancellationToken cancellationToken)
    {
        DiscoverServiceLogs();
        foreach (var (tailer, source, instance) in _tailers)
        {
            foreach (var line in tailer.Poll())
            {
                LogEvent? evt;
                await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    evt = _pipeline!.Parse(line, source.Format, source.Path);
                    if (evt is not null)
                    {
                        evt.Instance = instance;
                    }
                }
                finally
                {
                    _gate.Release();
                }

                if (evt is not null)
                {
                    await ObserveAsync(evt, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        await responder.ExpireAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Follows each instance's own log (<c>{log dir}/{instance}.log</c>; <c>fn-*.log</c> are functions', followed without
    /// an instance). Logs there at the first look are read from their end, later ones (new instances) from their start.
    /// </summary>
    private void DiscoverServiceLogs()
    {
        long now = time.GetTimestamp();
        if (!options.ServiceLogs || (_discoveredOnce && time.GetElapsedTime(_lastDiscovery, now) < DiscoveryInterval))
        {
            return;
        }

        _lastDiscovery = now;
        bool first = !_discoveredOnce;
        _discoveredOnce = true;
        if (!Directory.Exists(options.LogDirectory))
        {
            return;
        }

        foreach (var path in Directory.EnumerateFiles(options.LogDirectory, "*.log").Select(Path.GetFullPath).Order(StringComparer.Ordinal))
        {
            if (_followed.Add(path))
            {
                var name = Path.GetFileNameWithoutExtension(path);
                var instance = name.StartsWith("fn-", StringComparison.Ordinal) ? null : name;
                _tailers.Add((new LogTailer(path, fromStart: !first), new SecurityLogSource(path, "text"), instance));
            }
        }
    }

    public override void Dispose()
    {
        _gate.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Security agent pass failed; retrying on the next tick")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}

/// <summary>
/// Keeps a process's <see cref="SecurityEnforcement"/> current when the security agent runs elsewhere: applies every
/// <c>security.response</c> at once and reloads the stored responses every few seconds (a lost event only delays).
/// </summary>
public sealed partial class SecuritySync(IEventBus bus, IDocumentStore docs, SecurityEnforcement enforcement, TimeProvider time, ILogger<SecuritySync> logger) : BackgroundService
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using var subscription = bus.Subscribe(EventTypes.SecurityResponse, "enforcement-" + Guid.NewGuid().ToString("N")[..12], (evt, _) =>
        {
            enforcement.Apply(evt);
            return Task.CompletedTask;
        }, new SubscriptionOptions { Transient = true });
        using var timer = new PeriodicTimer(RefreshInterval, time);
        try
        {
            do
            {
                try
                {
                    await enforcement.RefreshAsync(docs, stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogRefreshFailed(logger, e);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the security responses from the store failed; retrying")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}
