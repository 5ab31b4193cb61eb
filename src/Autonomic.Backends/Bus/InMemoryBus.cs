using System.Collections.Concurrent;
using System.Threading.Channels;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Autonomic.Backends.Bus;

/// <summary>
/// An <see cref="IEventBus"/> inside one process, on System.Threading.Channels. A consumer group is a queue
/// identified by its group name and pattern: it receives every published event whose type matches the pattern
/// (<see cref="TopicPattern"/>), and the handlers subscribed to it compete for those events. Each group holds at
/// most <see cref="SubscriptionOptions.Capacity"/> queued events (set by the subscription that created it);
/// publishers wait while a matching group is full. A queue outlives its subscriptions: events published while a
/// group has no handler wait for the next one, up to its capacity; beyond that they are dropped for that group
/// (logged) rather than holding publishers up for a consumer that may never come back. A handler that throws gets the event again after
/// <see cref="SubscriptionOptions.RetryDelay"/>, before the group's later events, until
/// <see cref="SubscriptionOptions.MaxAttempts"/> deliveries, then the event goes to <see cref="DeadLetters"/>.
/// Nothing survives the process.
/// </summary>
public sealed partial class InMemoryBus : IEventBus, IBusStatistics
{
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Group, string Pattern), ConsumerGroup> _groups = [];
    private readonly HashSet<Subscription> _subscriptions = [];
    private readonly List<DeadLetter> _deadLetters = [];

    // Publishing reads this snapshot without the lock; it is replaced (under the lock) whenever a group is added,
    // which also drops the per-type match cache built against the old group list.
    private volatile Routes _routes = new([]);
    private volatile bool _disposed;

    /// <summary>Creates an empty bus.</summary>
    public InMemoryBus(TimeProvider? timeProvider = null, ILogger<InMemoryBus>? logger = null)
    {
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<InMemoryBus>.Instance;
    }

    /// <inheritdoc />
    public IReadOnlyList<DeadLetter> DeadLetters
    {
        get
        {
            lock (_gate)
            {
                return [.. _deadLetters];
            }
        }
    }

    /// <inheritdoc />
    public ValueTask PublishAsync(CloudEvent evt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evt);
        cancellationToken.ThrowIfCancellationRequested();
        ObjectDisposedException.ThrowIf(_disposed, this);
        var targets = _routes.For(evt.Type);

        // Fast path: every matching group has room, so nothing allocates and nothing awaits.
        for (var i = 0; i < targets.Length; i++)
        {
            var group = targets[i];
            var unattended = group.Unattended.Token;
            if (!group.Queue.Writer.TryWrite(new Envelope(evt, 0)))
            {
                return PublishSlowAsync(evt, targets, i, unattended, cancellationToken);
            }
        }

        return ValueTask.CompletedTask;
    }

    private async ValueTask PublishSlowAsync(CloudEvent evt, ConsumerGroup[] targets, int from, CancellationToken firstUnattended, CancellationToken cancellationToken)
    {
        for (var i = from; i < targets.Length; i++)
        {
            var group = targets[i];
            var unattended = i == from ? firstUnattended : group.Unattended.Token;
            var envelope = new Envelope(evt, 0);
            if (i != from && group.Queue.Writer.TryWrite(envelope))
            {
                continue;
            }

            if (unattended.IsCancellationRequested)
            {
                LogDropped(_logger, group.Name, evt.Id, evt.Type);
                continue;
            }

            // The group is full: wait for room (backpressure) unless the caller or the bus gives up, or the group
            // loses its last handler (nobody would ever make room).
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token, unattended);
            try
            {
                await group.Queue.Writer.WriteAsync(envelope, linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (unattended.IsCancellationRequested && !cancellationToken.IsCancellationRequested && !_stopping.IsCancellationRequested)
            {
                LogDropped(_logger, group.Name, evt.Id, evt.Type);
            }
            catch (Exception e) when (e is OperationCanceledException or ChannelClosedException && !cancellationToken.IsCancellationRequested)
            {
                throw new ObjectDisposedException(nameof(InMemoryBus), "The bus was disposed while a publisher waited for room.");
            }
        }
    }

    /// <inheritdoc />
    public IAsyncDisposable Subscribe(string pattern, string group, Func<CloudEvent, CancellationToken, Task> handler, SubscriptionOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        ArgumentException.ThrowIfNullOrWhiteSpace(group);
        ArgumentNullException.ThrowIfNull(handler);
        options ??= new SubscriptionOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Capacity, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxAttempts, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Concurrency, 1, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RetryDelay, TimeSpan.Zero, nameof(options));

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (!_groups.TryGetValue((group, pattern), out var consumerGroup))
            {
                var queue = Channel.CreateBounded<Envelope>(new BoundedChannelOptions(options.Capacity)
                {
                    FullMode = BoundedChannelFullMode.Wait,
                });
                consumerGroup = new ConsumerGroup(group, pattern, queue);
                _groups.Add((group, pattern), consumerGroup);
                _routes = new Routes([.. _routes.Groups, consumerGroup]);
            }

            var subscription = new Subscription(this, consumerGroup, handler, options);
            _subscriptions.Add(subscription);
            if (consumerGroup.Handlers++ == 0)
            {
                consumerGroup.Unattended = new CancellationTokenSource();
            }

            subscription.Start();
            return subscription;
        }
    }

    /// <summary>Stops every consumer (cancelling running handlers) and refuses further publishing; queued events are dropped.</summary>
    public async ValueTask DisposeAsync()
    {
        Subscription[] subscriptions;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            subscriptions = [.. _subscriptions];
        }

        // Cancel before completing the queues, so no worker picks up another queued event on the way out.
        await _stopping.CancelAsync().ConfigureAwait(false);
        lock (_gate)
        {
            foreach (var group in _groups.Values)
            {
                group.Queue.Writer.TryComplete();
            }
        }

        foreach (var subscription in subscriptions)
        {
            await subscription.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Remove(Subscription subscription, ConsumerGroup group)
    {
        CancellationTokenSource? unattended = null;
        lock (_gate)
        {
            if (_subscriptions.Remove(subscription) && --group.Handlers == 0)
            {
                unattended = group.Unattended;
            }
        }

        // Outside the lock: cancelling runs the waiting publishers' registrations.
        unattended?.Cancel();
    }

    private void AddDeadLetter(DeadLetter letter)
    {
        lock (_gate)
        {
            _deadLetters.Add(letter);
        }

        LogDeadLetter(_logger, letter.Group, letter.Event.Id, letter.Event.Type, letter.Attempts, letter.Error);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handler in group {Group} failed on event {EventId} ({EventType}), attempt {Attempt} of {MaxAttempts}")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string group, string eventId, string eventType, int attempt, int maxAttempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group {Group} is full and has no handler: event {EventId} ({EventType}) dropped for it")]
    private static partial void LogDropped(ILogger logger, string group, string eventId, string eventType);

    [LoggerMessage(Level = LogLevel.Error, Message = "Group {Group} gave up on event {EventId} ({EventType}) after {Attempts} attempts: {Error}")]
    private static partial void LogDeadLetter(ILogger logger, string group, string eventId, string eventType, int attempts, string error);

    /// <summary>An event on its way through one group, with the deliveries it has had.</summary>
    private readonly record struct Envelope(CloudEvent Event, int Attempts);

    /// <summary>
    /// The groups as of one moment, with the groups each event type matched, so publishing matches a type against
    /// the patterns once rather than on every event. Immutable group list; the cache only grows, up to a bound.
    /// </summary>
    private sealed class Routes(ConsumerGroup[] groups)
    {
        // Event types are normally a small fixed vocabulary; the bound keeps a stream of one-off types from growing it forever.
        private const int MaxCachedTypes = 1024;
        private readonly ConcurrentDictionary<string, ConsumerGroup[]> _byType = new(StringComparer.Ordinal);

        public ConsumerGroup[] Groups { get; } = groups;

        public ConsumerGroup[] For(string type)
        {
            if (_byType.TryGetValue(type, out var cached))
            {
                return cached;
            }

            var matching = new List<ConsumerGroup>();
            foreach (var group in Groups)
            {
                if (TopicPattern.Matches(group.Pattern, type))
                {
                    matching.Add(group);
                }
            }

            ConsumerGroup[] targets = [.. matching];
            if (_byType.Count < MaxCachedTypes)
            {
                _byType.TryAdd(type, targets);
            }

            return targets;
        }
    }

    /// <inheritdoc />
    public int BufferedPublishes => 0;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, long> GroupBacklog()
    {
        lock (_gate)
        {
            var backlog = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var group in _groups.Values)
            {
                backlog[group.Name] = backlog.GetValueOrDefault(group.Name) + group.Queue.Reader.Count;
            }

            return backlog;
        }
    }

    /// <summary>A queue and the count of handlers attending it; guarded by the bus lock.</summary>
    private sealed class ConsumerGroup(string name, string pattern, Channel<Envelope> queue)
    {
        public string Name { get; } = name;
        public string Pattern { get; } = pattern;
        public Channel<Envelope> Queue { get; } = queue;
        public int Handlers { get; set; }

        /// <summary>Cancelled while the group has no handler: publishers must not wait for room then. Written under the bus lock, read by publishers without it.</summary>
        public CancellationTokenSource Unattended
        {
            get => Volatile.Read(ref _unattended);
            set => Volatile.Write(ref _unattended, value);
        }

        private CancellationTokenSource _unattended = CreateCancelled();

        private static CancellationTokenSource CreateCancelled()
        {
            var cts = new CancellationTokenSource();
            cts.Cancel();
            return cts;
        }
    }

    /// <summary>One handler of a group, run by <see cref="SubscriptionOptions.Concurrency"/> workers.</summary>
    private sealed class Subscription(InMemoryBus bus, ConsumerGroup group, Func<CloudEvent, CancellationToken, Task> handler, SubscriptionOptions options)
        : IAsyncDisposable
    {
        private readonly CancellationTokenSource _cts = CancellationTokenSource.CreateLinkedTokenSource(bus._stopping.Token);
        private Task[] _workers = [];
        private int _disposed;

        public void Start() =>
            _workers = [.. Enumerable.Range(0, options.Concurrency).Select(_ => Task.Run(() => RunAsync(_cts.Token)))];

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            bus.Remove(this, group);
            await _cts.CancelAsync().ConfigureAwait(false);
            await Task.WhenAll(_workers).ConfigureAwait(false);
            _cts.Dispose();
        }

        private async Task RunAsync(CancellationToken cancellationToken)
        {
            var reader = group.Queue.Reader;
            try
            {
                while (await reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    while (!cancellationToken.IsCancellationRequested && reader.TryRead(out var envelope))
                    {
                        await DeliverAsync(envelope, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopping is the normal way out.
            }
        }

        /// <summary>Delivers without allocating when the handler completes synchronously; otherwise continues in <see cref="DeliverSlowAsync"/>.</summary>
        private ValueTask DeliverAsync(Envelope envelope, CancellationToken cancellationToken)
        {
            if (cancellationToken.IsCancellationRequested)
            {
                HandBack(envelope);
                return ValueTask.CompletedTask;
            }

            envelope = envelope with { Attempts = envelope.Attempts + 1 };
            Task first;
            try
            {
                first = handler(envelope.Event, cancellationToken);
                if (first.IsCompletedSuccessfully)
                {
                    return ValueTask.CompletedTask;
                }
            }
            catch (Exception e)
            {
                // Judged by the slow path exactly as if the handler's task had faulted.
                first = Task.FromException(e);
            }

            return DeliverSlowAsync(envelope, first, cancellationToken);
        }

        /// <summary>Awaits the attempt under way (<paramref name="pending"/>), then retries until success, the attempt limit or a stop.</summary>
        private async ValueTask DeliverSlowAsync(Envelope envelope, Task? pending, CancellationToken cancellationToken)
        {
            while (true)
            {
                if (pending is null)
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        HandBack(envelope);
                        return;
                    }

                    envelope = envelope with { Attempts = envelope.Attempts + 1 };
                }

                try
                {
                    var attempt = pending ?? handler(envelope.Event, cancellationToken);
                    pending = null;
                    await attempt.ConfigureAwait(false);
                    return;
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // Interrupted by a stop, not failed: the attempt does not count.
                    HandBack(envelope with { Attempts = envelope.Attempts - 1 });
                    return;
                }
                catch (Exception e)
                {
                    pending = null;
                    LogHandlerFailed(bus._logger, e, group.Name, envelope.Event.Id, envelope.Event.Type, envelope.Attempts, options.MaxAttempts);
                    if (envelope.Attempts >= options.MaxAttempts)
                    {
                        bus.AddDeadLetter(new DeadLetter(group.Name, envelope.Event, envelope.Attempts, $"{e.GetType().FullName}: {e.Message}", bus._time.GetUtcNow()));
                        return;
                    }
                }

                try
                {
                    await Task.Delay(options.RetryDelay, bus._time, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    HandBack(envelope);
                    return;
                }
            }
        }

        /// <summary>
        /// Returns an unacknowledged event to its group so another handler gets it (at-least-once), unless the
        /// whole bus is stopping. Never waits: a worker must not block on room in its own queue.
        /// </summary>
        private void HandBack(Envelope envelope)
        {
            if (bus._stopping.IsCancellationRequested || group.Queue.Writer.TryWrite(envelope))
            {
                return;
            }

            _ = HandBackLaterAsync(envelope);
        }

        private async Task HandBackLaterAsync(Envelope envelope)
        {
            try
            {
                await group.Queue.Writer.WriteAsync(envelope, bus._stopping.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ChannelClosedException)
            {
                // The bus stopped; it drains nothing further.
            }
        }
    }
}
