using Autonomic.Core.Model;

namespace Autonomic.Core.Abstractions;

/// <summary>How a subscription consumes.</summary>
public sealed record SubscriptionOptions
{
    /// <summary>Events queued per consumer group before publishers wait (backpressure).</summary>
    public int Capacity { get; init; } = 10_000;
    /// <summary>Deliveries of one event before it goes to the dead-letter list.</summary>
    public int MaxAttempts { get; init; } = 5;
    /// <summary>Delay before an event whose handler threw is delivered again.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(50);
    /// <summary>Handlers run at once within the group.</summary>
    public int Concurrency { get; init; } = 1;
    /// <summary>
    /// The group lives only as long as its subscription (a broker deletes its queue when the subscriber goes away):
    /// for per-process groups, such as each healer's own copy of the probe verdicts.
    /// </summary>
    public bool Transient { get; init; }
}

/// <summary>
/// Publish/subscribe with topics, consumer groups and at-least-once delivery. A topic pattern matches the
/// event type by dotted words: <c>*</c> matches one word, <c>#</c> any number (AMQP topic rules). Each consumer
/// group gets every matching event once; handlers in one group share the work. An event is acknowledged when
/// its handler returns; a handler that throws gets it again, up to <see cref="SubscriptionOptions.MaxAttempts"/>.
/// </summary>
public interface IEventBus : IAsyncDisposable
{
    /// <summary>Publishes; waits while a matching group's queue is full.</summary>
    ValueTask PublishAsync(CloudEvent evt, CancellationToken cancellationToken = default);

    /// <summary>Subscribes a handler to a pattern in a consumer group. Dispose the result to stop.</summary>
    IAsyncDisposable Subscribe(string pattern, string group, Func<CloudEvent, CancellationToken, Task> handler, SubscriptionOptions? options = null);

    /// <summary>Events that exhausted their attempts, oldest first.</summary>
    IReadOnlyList<DeadLetter> DeadLetters { get; }
}

/// <summary>An event a group gave up on, with the last error.</summary>
public sealed record DeadLetter(string Group, CloudEvent Event, int Attempts, string Error, DateTimeOffset At);

/// <summary>What a bus can tell about its own backlog, for metrics.</summary>
public interface IBusStatistics
{
    /// <summary>Events accepted by a publisher but not yet handed to the broker (0 for a bus without a broker).</summary>
    int BufferedPublishes { get; }

    /// <summary>Events waiting per consumer group (the consumer lag), as far as this process can see.</summary>
    IReadOnlyDictionary<string, long> GroupBacklog();
}
