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
    IEventBus bus, IDocumentStore docs, SecurityResponder responder, Blocklist blocklist, SecurityOptions options, RulePack pack, TimeProvider time, ILogger<SecurityAgent> logger)
    : BackgroundService
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private SecurityPipeline? _pipeline;
    private readonly List<(LogTailer Tailer, SecurityLogSource Source)> _tailers = [];

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
            await blocklist.RefreshAsync(docs, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogPassFailed(logger, e);
        }

        foreach (var source in options.Logs)
        {
            _tailers.Add((new LogTailer(source.Path, source.FromStart), source));
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
            foreach (var (tailer, _) in _tailers)
            {
                tailer.Dispose();
            }
        }
    }

    /// <summary>One pass: new lines of every followed log, then expiry.</summary>
    public async Task PassAsync(CancellationToken cancellationToken)
    {
        foreach (var (tailer, source) in _tailers)
        {
            foreach (var line in tailer.Poll())
            {
                LogEvent? evt;
                await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    evt = _pipeline!.Parse(line, source.Format, source.Path);
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

    public override void Dispose()
    {
        _gate.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Security agent pass failed; retrying on the next tick")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}

/// <summary>
/// Keeps a process's <see cref="Blocklist"/> current when the security agent runs elsewhere: applies every
/// <c>security.response</c> at once and reloads the stored blocks every few seconds (a lost event only delays).
/// </summary>
public sealed partial class BlocklistSync(IEventBus bus, IDocumentStore docs, Blocklist blocklist, TimeProvider time, ILogger<BlocklistSync> logger) : BackgroundService
{
    public static readonly TimeSpan RefreshInterval = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using var subscription = bus.Subscribe(EventTypes.SecurityResponse, "blocklist-" + Guid.NewGuid().ToString("N")[..12], (evt, _) =>
        {
            blocklist.Apply(evt);
            return Task.CompletedTask;
        }, new SubscriptionOptions { Transient = true });
        using var timer = new PeriodicTimer(RefreshInterval, time);
        try
        {
            do
            {
                try
                {
                    await blocklist.RefreshAsync(docs, stoppingToken).ConfigureAwait(false);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the blocklist from the store failed; retrying")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}
