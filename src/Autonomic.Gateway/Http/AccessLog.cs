using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Autonomic.Gateway.Http;

/// <summary>The data of one <see cref="EventTypes.GatewayAccess"/> event. Never carries a key's secret.</summary>
public sealed record AccessRecord(
    DateTimeOffset Time, string? ClientIp, string? KeyId, string Method, string Path, int Status, string? UserAgent, double DurationMs, string RequestId);

/// <summary>
/// Queues one <see cref="AccessRecord"/> per request for the bus without ever making the request wait: the queue is
/// bounded and a record that does not fit is dropped and counted (<see cref="Dropped"/>).
/// </summary>
public sealed class AccessLog
{
    private static readonly Meter Meter = new("Autonomic.Gateway");
    private static readonly Counter<long> DroppedCounter = Meter.CreateCounter<long>("autonomic.gateway.access_events_dropped", description: "gateway.access events dropped because the bus was behind");
    private readonly Channel<AccessRecord> channel;
    private long dropped;

    public AccessLog(GatewayOptions options)
    {
        channel = Channel.CreateBounded<AccessRecord>(
            new BoundedChannelOptions(Math.Max(1, options.AccessEventCapacity)) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true },
            _ =>
            {
                Interlocked.Increment(ref dropped);
                DroppedCounter.Add(1);
            });
    }

    /// <summary>Records dropped since start because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref dropped);

    public void Write(AccessRecord record) => channel.Writer.TryWrite(record);

    internal ChannelReader<AccessRecord> Reader => channel.Reader;
}

/// <summary>Publishes the queued access records as <see cref="EventTypes.GatewayAccess"/> events, when a bus is registered.</summary>
internal sealed partial class AccessLogPump(AccessLog log, IServiceProvider services, ILogger<AccessLogPump> logger) : BackgroundService
{
    public const string Source = "/gateway";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var bus = services.GetService<IEventBus>();
        try
        {
            await foreach (var record in log.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                if (bus is null)
                {
                    continue;
                }

                try
                {
                    await bus.PublishAsync(CloudEvent.Create(Source, EventTypes.GatewayAccess, record.KeyId ?? record.ClientIp, record.Time, record), stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogPublishFailed(logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing a gateway.access event failed")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception);
}
