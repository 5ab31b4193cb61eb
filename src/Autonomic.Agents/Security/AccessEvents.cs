using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Security;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Autonomic.Agents.Security;

/// <summary>
/// Queues one <see cref="AccessEvent"/> per request (the gateway's and the load balancers') for the bus without ever
/// making the request wait: the queue is bounded and an event that does not fit is dropped and counted
/// (<see cref="Dropped"/>). <see cref="AccessEventPump"/> publishes them.
/// </summary>
public sealed class AccessEventQueue
{
    public const int DefaultCapacity = 8192;
    private static readonly Meter Meter = new("Autonomic.Access");
    private static readonly Counter<long> DroppedCounter = Meter.CreateCounter<long>("autonomic.access_events_dropped", description: "gateway.access events dropped because the bus was behind");
    private readonly Channel<AccessEvent> _channel;
    private long _dropped;

    public AccessEventQueue(int capacity = DefaultCapacity)
    {
        _channel = Channel.CreateBounded<AccessEvent>(
            new BoundedChannelOptions(Math.Max(1, capacity)) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true },
            _ =>
            {
                Interlocked.Increment(ref _dropped);
                DroppedCounter.Add(1);
            });
    }

    /// <summary>Events dropped since start because the queue was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public void Write(AccessEvent access) => _channel.Writer.TryWrite(access);

    internal ChannelReader<AccessEvent> Reader => _channel.Reader;
}

/// <summary>Publishes the queued access events as <see cref="EventTypes.GatewayAccess"/> events (and drops them when no bus is registered).</summary>
public sealed partial class AccessEventPump(AccessEventQueue queue, IServiceProvider services, ILogger<AccessEventPump> logger) : BackgroundService
{
    /// <summary>CloudEvents source of the gateway's events; a load balancer's are <c>/traffic/{service}</c>.</summary>
    public const string GatewaySource = "/gateway";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var bus = services.GetService<IEventBus>();
        try
        {
            await foreach (var access in queue.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                if (bus is null)
                {
                    continue;
                }

                try
                {
                    var source = access.Service is null ? GatewaySource : "/traffic/" + access.Service;
                    await bus.PublishAsync(CloudEvent.Create(source, EventTypes.GatewayAccess, access.KeyId ?? access.ClientIp, access.Time, access), stoppingToken).ConfigureAwait(false);
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

/// <summary>Registration of the access-event queue the gateway and the load balancers share.</summary>
public static class AccessEventServiceCollectionExtensions
{
    /// <summary>One <see cref="AccessEventQueue"/> and its <see cref="AccessEventPump"/> per process; a second call adds nothing.</summary>
    public static IServiceCollection AddAccessEvents(this IServiceCollection services, int capacity = AccessEventQueue.DefaultCapacity)
    {
        if (services.Any(d => d.ServiceType == typeof(AccessEventQueue)))
        {
            return services;
        }

        services.AddSingleton(new AccessEventQueue(capacity));
        services.AddHostedService<AccessEventPump>();
        return services;
    }
}
