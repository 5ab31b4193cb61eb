using System.Globalization;
using System.Text;
using System.Text.Json;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Autonomic.Backends.Bus.RabbitMq;

/// <summary>
/// An <see cref="IEventBus"/> on RabbitMQ. Events go as persistent JSON CloudEvents (structured mode, with
/// <c>cloudEvents:*</c> headers) to a durable topic exchange, with publisher confirms: <see cref="PublishAsync"/>
/// returns once the broker has taken the event, or once it is in the bounded publish buffer while the broker is
/// unreachable (buffered events are sent in order after reconnection; a full buffer throws
/// <see cref="PublishBufferFullException"/>). A consumer group is a durable queue per (group, pattern) bound with
/// the pattern, holding at most <see cref="SubscriptionOptions.Capacity"/> ready events: publishers retry while a
/// matching queue is full (the broker rejects them), also when that queue has no consumer. An event is acknowledged
/// only after its handler returns; a handler that throws gets it again after
/// <see cref="SubscriptionOptions.RetryDelay"/>, before the queue's later events, up to
/// <see cref="SubscriptionOptions.MaxAttempts"/>; then it moves to the exchange's durable dead-letter queue
/// (<see cref="IDeadLetterQueue"/>) and to <see cref="DeadLetters"/>. Delivery is at least once: after a lost
/// connection, unacknowledged events are delivered again (handlers deduplicate on the event id). The connection
/// recovers by itself, with its queues, bindings and consumers. Passwords never appear in logs or errors.
/// </summary>
public sealed partial class RabbitMqBus : IEventBus, IDeadLetterQueue, IBusStatistics
{
    private const string AttemptsHeader = "x-autonomic-attempts";
    private const string GroupHeader = "x-autonomic-group";
    private const string QueueHeader = "x-autonomic-queue";
    private const string ErrorHeader = "x-autonomic-error";
    private const string AtHeader = "x-autonomic-dead-at";
    private const int MaxListed = 10_000;

    private readonly RabbitMqBusOptions _options;
    private readonly string _maskedUrl;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource<IConnection> _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _gate = new();
    private readonly Queue<Outgoing> _buffer = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly HashSet<Subscription> _subscriptions = [];
    private readonly HashSet<string> _declaredQueues = [];
    private readonly List<DeadLetter> _deadLetters = [];
    private readonly Task _connector;
    private readonly Task _flusher;
    private IChannel? _publisher;
    private volatile bool _online;
    private volatile Exception? _lastConnectError;
    private bool _disposed;

    /// <summary>Starts connecting in the background; publishing before the broker answers fills the publish buffer.</summary>
    public RabbitMqBus(RabbitMqBusOptions options, TimeProvider? timeProvider = null, ILogger<RabbitMqBus>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.PublishBufferCapacity, 1, nameof(options));
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Exchange, nameof(options));
        _maskedUrl = AmqpUrl.Mask(options.Url);
        if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("amqp" or "amqps"))
        {
            throw new ArgumentException($"not an AMQP URL: '{_maskedUrl}' (expected amqp://user:password@host:port/vhost)", nameof(options));
        }

        _options = options;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger<RabbitMqBus>.Instance;
        _connector = Task.Run(() => ConnectAsync(uri, _stopping.Token));
        _flusher = Task.Run(() => FlushAsync(_stopping.Token));
    }

    /// <summary>Creates a bus from a URL with default options.</summary>
    public RabbitMqBus(string url, TimeProvider? timeProvider = null, ILogger<RabbitMqBus>? logger = null)
        : this(RabbitMqBusOptions.FromUrl(url), timeProvider, logger)
    {
    }

    /// <summary>Events accepted while the broker was unreachable and not yet confirmed by it.</summary>
    public int BufferedPublishes
    {
        get
        {
            lock (_gate)
            {
                return _buffer.Count;
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>The broker holds the backlog; per-group depths are read from its queues by an operator tool, not per scrape.</remarks>
    public IReadOnlyDictionary<string, long> GroupBacklog() => new Dictionary<string, long>();

    /// <summary>Whether the bus has a working connection right now.</summary>
    public bool IsConnected => _online;

    /// <summary>Queues this bus declared for its subscriptions (besides the dead-letter queue).</summary>
    public IReadOnlyCollection<string> DeclaredQueues
    {
        get
        {
            lock (_gate)
            {
                return [.. _declaredQueues];
            }
        }
    }

    /// <summary>The options the bus was made with.</summary>
    public RabbitMqBusOptions Options => _options;

    /// <summary>Events this bus's handlers gave up on, oldest first (the broker-wide list: <see cref="ListAsync"/>).</summary>
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
    public async ValueTask PublishAsync(CloudEvent evt, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(evt);
        ObjectDisposedException.ThrowIf(_disposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        var outgoing = Outgoing.For(evt);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        try
        {
            // Queues of groups subscribed just before must exist first, or they would miss this event.
            await AwaitDeclarationsAsync(linked.Token).ConfigureAwait(false);
            if (_online && BufferedPublishes == 0)
            {
                try
                {
                    await SendAsync(outgoing, linked.Token).ConfigureAwait(false);
                    return;
                }
                catch (Exception e) when (IsConnectionFailure(e, linked.Token))
                {
                    // The broker went away mid-publish: keep the event for after the reconnection.
                    LogPublishInterrupted(_logger, evt.Id, _maskedUrl, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new ObjectDisposedException(nameof(RabbitMqBus), "The bus was disposed while a publisher waited.");
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_buffer.Count >= _options.PublishBufferCapacity)
            {
                throw new PublishBufferFullException(_options.PublishBufferCapacity, _maskedUrl);
            }

            _buffer.Enqueue(outgoing);
        }

        _wake.Release();
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
        ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Concurrency, ushort.MaxValue, nameof(options));
        ArgumentOutOfRangeException.ThrowIfLessThan(options.RetryDelay, TimeSpan.Zero, nameof(options));

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var subscription = new Subscription(this, group, pattern, _options.QueueName(group, pattern), handler, options);
            _subscriptions.Add(subscription);
            _declaredQueues.Add(subscription.Queue);
            subscription.Start();
            return subscription;
        }
    }

    /// <inheritdoc />
    public async Task<IReadOnlyList<DeadLetter>> ListAsync(string? group = null, CancellationToken cancellationToken = default)
    {
        List<DeadLetter> letters = [];
        await WithDeadLetterChannelAsync(async (channel, ct) =>
        {
            // Unacknowledged gets go back to the queue, in place, when the channel closes.
            while (letters.Count < MaxListed && await channel.BasicGetAsync(_options.DeadLetterQueue, autoAck: false, ct).ConfigureAwait(false) is { } got)
            {
                if (ReadDeadLetter(got) is { } letter && (group is null || letter.Group == group))
                {
                    letters.Add(letter);
                }
            }
        }, confirms: false, cancellationToken).ConfigureAwait(false);
        return letters;
    }

    /// <inheritdoc />
    public async Task<int> ReplayAsync(string? group = null, CancellationToken cancellationToken = default)
    {
        var replayed = 0;
        await WithDeadLetterChannelAsync(async (channel, ct) =>
        {
            while (await channel.BasicGetAsync(_options.DeadLetterQueue, autoAck: false, ct).ConfigureAwait(false) is { } got)
            {
                var headers = got.BasicProperties.Headers;
                if ((group is not null && HeaderString(headers, GroupHeader) != group) || HeaderString(headers, QueueHeader) is not { } queue)
                {
                    continue;
                }

                var properties = NewProperties(got.BasicProperties.MessageId, got.BasicProperties.Type, CopyHeaders(got.BasicProperties.Headers, dropDeadLetterHeaders: true));
                properties.Timestamp = got.BasicProperties.Timestamp;
                await channel.BasicPublishAsync("", queue, mandatory: true, properties, got.Body, ct).ConfigureAwait(false);
                await channel.BasicAckAsync(got.DeliveryTag, multiple: false, ct).ConfigureAwait(false);
                replayed++;
            }
        }, confirms: true, cancellationToken).ConfigureAwait(false);
        if (replayed > 0)
        {
            LogReplayed(_logger, replayed, group ?? "(all)");
        }

        return replayed;
    }

    /// <inheritdoc />
    public async Task<int> PurgeAsync(string? group = null, CancellationToken cancellationToken = default)
    {
        var purged = 0;
        await WithDeadLetterChannelAsync(async (channel, ct) =>
        {
            if (group is null)
            {
                purged = (int)await channel.QueuePurgeAsync(_options.DeadLetterQueue, ct).ConfigureAwait(false);
                return;
            }

            while (await channel.BasicGetAsync(_options.DeadLetterQueue, autoAck: false, ct).ConfigureAwait(false) is { } got)
            {
                if (HeaderString(got.BasicProperties.Headers, GroupHeader) == group)
                {
                    await channel.BasicAckAsync(got.DeliveryTag, multiple: false, ct).ConfigureAwait(false);
                    purged++;
                }
            }
        }, confirms: false, cancellationToken).ConfigureAwait(false);
        return purged;
    }

    /// <summary>
    /// Deletes this bus's exchange, the queues it declared and its dead-letter queue, with their events: for
    /// benchmarks and tests that own their exchange. Call before disposing.
    /// </summary>
    public async Task DeleteTopologyAsync(CancellationToken cancellationToken = default)
    {
        await WithDeadLetterChannelAsync(async (channel, ct) =>
        {
            foreach (var queue in DeclaredQueues.Append(_options.DeadLetterQueue))
            {
                await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false, cancellationToken: ct).ConfigureAwait(false);
            }

            await channel.ExchangeDeleteAsync(_options.Exchange, ifUnused: false, cancellationToken: ct).ConfigureAwait(false);
        }, confirms: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops every consumer (cancelling running handlers; their events go back to the broker unacknowledged) and
    /// refuses further publishing. Events still in the publish buffer are lost (logged).
    /// </summary>
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

        await _stopping.CancelAsync().ConfigureAwait(false);
        await Task.WhenAll(subscriptions.Select(s => s.DisposeAsync().AsTask())).ConfigureAwait(false);
        await Task.WhenAll(_connector, _flusher).ConfigureAwait(false);
        var lost = BufferedPublishes;
        if (lost > 0)
        {
            LogBufferLost(_logger, lost, _maskedUrl);
        }

        _online = false;
        if (_connected.Task.IsCompletedSuccessfully)
        {
            var connection = _connected.Task.Result;
            try
            {
                await connection.CloseAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                LogCloseFailed(_logger, _maskedUrl, e.Message);
            }

            connection.Dispose();
        }

        _wake.Dispose();
    }

    private static bool IsConnectionFailure(Exception e, CancellationToken token) =>
        !token.IsCancellationRequested && e is not PublishException and not OperationCanceledException and not ObjectDisposedException;

    private async Task ConnectAsync(Uri uri, CancellationToken cancellationToken)
    {
        var factory = new ConnectionFactory
        {
            Uri = uri,
            AutomaticRecoveryEnabled = true,
            TopologyRecoveryEnabled = true,
            NetworkRecoveryInterval = _options.RecoveryInterval,
            ClientProvidedName = _options.ConnectionName,
            RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
        };
        var delay = _options.RecoveryInterval;
        while (!cancellationToken.IsCancellationRequested)
        {
            IConnection? connection = null;
            try
            {
                connection = await factory.CreateConnectionAsync(cancellationToken).ConfigureAwait(false);
                var publisher = await connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true, outstandingPublisherConfirmationsRateLimiter: null),
                    cancellationToken).ConfigureAwait(false);
                await publisher.ExchangeDeclareAsync(_options.Exchange, ExchangeType.Topic, durable: true, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
                await publisher.QueueDeclareAsync(_options.DeadLetterQueue, durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
                connection.ConnectionShutdownAsync += (_, args) =>
                {
                    _online = false;
                    if (!_stopping.IsCancellationRequested)
                    {
                        LogDisconnected(_logger, _maskedUrl, args.ReplyText);
                    }

                    return Task.CompletedTask;
                };
                connection.RecoverySucceededAsync += (_, _) =>
                {
                    _online = true;
                    LogReconnected(_logger, _maskedUrl);
                    Wake();
                    return Task.CompletedTask;
                };
                _publisher = publisher;
                _online = true;
                _lastConnectError = null;
                _connected.TrySetResult(connection);
                LogConnected(_logger, _maskedUrl, _options.Exchange);
                Wake();
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                connection?.Dispose();
                return;
            }
            catch (Exception e)
            {
                connection?.Dispose();
                _lastConnectError = e;
                LogConnectFailed(_logger, _maskedUrl, Describe(e), delay.TotalSeconds);
            }

            try
            {
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(10).Ticks));
        }
    }

    private static string Describe(Exception e) =>
        e.InnerException is { } inner && e is BrokerUnreachableException ? $"{e.Message} ({inner.Message})" : e.Message;

    private void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (ObjectDisposedException)
        {
            // Disposed on the way out: nobody is waiting.
        }
    }

    /// <summary>Sends buffered events in order whenever the broker is reachable.</summary>
    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await _wake.WaitAsync(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                while (_online && TryPeek(out var next))
                {
                    await AwaitDeclarationsAsync(cancellationToken).ConfigureAwait(false);
                    try
                    {
                        await SendAsync(next, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Exception e) when (IsConnectionFailure(e, cancellationToken))
                    {
                        LogPublishInterrupted(_logger, next.Id, _maskedUrl, e.Message);
                        await Task.Delay(TimeSpan.FromMilliseconds(200), _time, cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    lock (_gate)
                    {
                        _buffer.Dequeue();
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private bool TryPeek(out Outgoing next)
    {
        lock (_gate)
        {
            return _buffer.TryPeek(out next!);
        }
    }

    /// <summary>Publishes with a broker confirm; while a matching queue is full (a nack), waits and tries again.</summary>
    private async Task SendAsync(Outgoing outgoing, CancellationToken cancellationToken)
    {
        var wait = TimeSpan.FromMilliseconds(5);
        while (true)
        {
            var channel = _publisher ?? throw new AlreadyClosedException(new ShutdownEventArgs(ShutdownInitiator.Library, 0, "not connected"));
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                // Once sent, an event is only ever settled by the broker's answer, never by the caller's token: a
                // publish that throws OperationCanceledException must not have reached any queue.
                await channel.BasicPublishAsync(_options.Exchange, outgoing.RoutingKey, mandatory: false, outgoing.Properties, outgoing.Body, _stopping.Token).ConfigureAwait(false);
                return;
            }
            catch (PublishException e) when (!e.IsReturn)
            {
                // reject-publish: some group holds Capacity ready events. Backpressure until it drains.
            }

            await Task.Delay(wait, _time, cancellationToken).ConfigureAwait(false);
            wait = TimeSpan.FromTicks(Math.Min(wait.Ticks * 2, TimeSpan.FromMilliseconds(100).Ticks));
        }
    }

    private async Task AwaitDeclarationsAsync(CancellationToken cancellationToken)
    {
        Task[] pending;
        lock (_gate)
        {
            pending = [.. _subscriptions.Select(s => s.Declared).Where(t => !t.IsCompleted)];
        }

        if (pending.Length > 0 && _online)
        {
            await Task.WhenAll(pending).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<IConnection> ConnectionAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _connected.Task.WaitAsync(_options.ConnectTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            var why = _lastConnectError is { } e ? $": {Describe(e)}" : "";
            throw new TimeoutException($"RabbitMQ at {_maskedUrl} did not answer within {_options.ConnectTimeout.TotalSeconds:0.#} s{why}");
        }
    }

    private async Task WithDeadLetterChannelAsync(Func<IChannel, CancellationToken, Task> work, bool confirms, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var connection = await ConnectionAsync(cancellationToken).ConfigureAwait(false);
        var channel = await connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: confirms, publisherConfirmationTrackingEnabled: confirms),
            cancellationToken).ConfigureAwait(false);
        await using (channel.ConfigureAwait(false))
        {
            await channel.QueueDeclareAsync(_options.DeadLetterQueue, durable: true, exclusive: false, autoDelete: false, cancellationToken: cancellationToken).ConfigureAwait(false);
            await work(channel, cancellationToken).ConfigureAwait(false);
            await channel.CloseAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task DeadLetterAsync(Subscription subscription, CloudEvent? evt, IReadOnlyBasicProperties received, ReadOnlyMemory<byte> body, int attempts, string error, CancellationToken cancellationToken)
    {
        var at = _time.GetUtcNow();
        var headers = CopyHeaders(received.Headers, dropDeadLetterHeaders: true);
        headers[GroupHeader] = subscription.Group;
        headers[QueueHeader] = subscription.Queue;
        headers[AttemptsHeader] = attempts;
        headers[ErrorHeader] = error;
        headers[AtHeader] = at.ToUnixTimeMilliseconds();
        var properties = NewProperties(received.MessageId, received.Type, headers);
        properties.Timestamp = received.Timestamp;
        var channel = _publisher ?? throw new AlreadyClosedException(new ShutdownEventArgs(ShutdownInitiator.Library, 0, "not connected"));
        await channel.BasicPublishAsync("", _options.DeadLetterQueue, mandatory: false, properties, body, cancellationToken).ConfigureAwait(false);
        if (evt is not null)
        {
            lock (_gate)
            {
                _deadLetters.Add(new DeadLetter(subscription.Group, evt, attempts, error, at));
            }
        }

        LogDeadLetter(_logger, subscription.Group, received.MessageId ?? "?", received.Type ?? "?", attempts, error);
    }

    private static DeadLetter? ReadDeadLetter(BasicGetResult got)
    {
        var headers = got.BasicProperties.Headers;
        CloudEvent? evt;
        try
        {
            evt = JsonSerializer.Deserialize<CloudEvent>(got.Body.Span, JsonDefaults.Options);
        }
        catch (JsonException)
        {
            return null;
        }

        if (evt is null)
        {
            return null;
        }

        var attempts = headers?.TryGetValue(AttemptsHeader, out var a) == true ? Convert.ToInt32(a, CultureInfo.InvariantCulture) : 0;
        var at = headers?.TryGetValue(AtHeader, out var t) == true
            ? DateTimeOffset.FromUnixTimeMilliseconds(Convert.ToInt64(t, CultureInfo.InvariantCulture))
            : DateTimeOffset.FromUnixTimeSeconds(got.BasicProperties.Timestamp.UnixTime);
        return new DeadLetter(HeaderString(headers, GroupHeader) ?? "?", evt, attempts, HeaderString(headers, ErrorHeader) ?? "", at);
    }

    private static string? HeaderString(IDictionary<string, object?>? headers, string name) =>
        headers?.TryGetValue(name, out var value) == true
            ? value switch
            {
                byte[] bytes => Encoding.UTF8.GetString(bytes),
                null => null,
                var other => Convert.ToString(other, CultureInfo.InvariantCulture),
            }
            : null;

    private static Dictionary<string, object?> CopyHeaders(IDictionary<string, object?>? headers, bool dropDeadLetterHeaders)
    {
        Dictionary<string, object?> copy = [];
        foreach (var (key, value) in headers ?? new Dictionary<string, object?>())
        {
            if (key.StartsWith("x-autonomic-", StringComparison.Ordinal) && dropDeadLetterHeaders)
            {
                continue;
            }

            if (key.StartsWith("x-dotnet-", StringComparison.Ordinal))
            {
                // The client's own publish sequence header must not travel with a copy.
                continue;
            }

            copy[key] = value;
        }

        return copy;
    }

    private static BasicProperties NewProperties(string? id, string? type, IDictionary<string, object?> headers) => new()
    {
        Persistent = true,
        ContentType = "application/cloudevents+json",
        MessageId = id,
        Type = type,
        Headers = headers,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to RabbitMQ at {Url}, exchange {Exchange}")]
    private static partial void LogConnected(ILogger logger, string url, string exchange);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot connect to RabbitMQ at {Url}: {Error}; trying again in {DelaySeconds} s")]
    private static partial void LogConnectFailed(ILogger logger, string url, string error, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the connection to RabbitMQ at {Url}: {Reason}; buffering publishes until it recovers")]
    private static partial void LogDisconnected(ILogger logger, string url, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Reconnected to RabbitMQ at {Url}")]
    private static partial void LogReconnected(ILogger logger, string url);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing event {EventId} to {Url} was interrupted ({Error}); it waits in the publish buffer")]
    private static partial void LogPublishInterrupted(ILogger logger, string eventId, string url, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Count} buffered events were never confirmed by RabbitMQ at {Url} before the bus stopped")]
    private static partial void LogBufferLost(ILogger logger, int count, string url);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Closing the connection to {Url} failed: {Error}")]
    private static partial void LogCloseFailed(ILogger logger, string url, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Handler in group {Group} failed on event {EventId} ({EventType}), attempt {Attempt} of {MaxAttempts}")]
    private static partial void LogHandlerFailed(ILogger logger, Exception exception, string group, string eventId, string eventType, int attempt, int maxAttempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "Group {Group} gave up on event {EventId} ({EventType}) after {Attempts} attempts: {Error}")]
    private static partial void LogDeadLetter(ILogger logger, string group, string eventId, string eventType, int attempts, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replayed {Count} dead letters of group {Group}")]
    private static partial void LogReplayed(ILogger logger, int count, string group);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group {Group} on queue {Queue}: {Error}; trying again")]
    private static partial void LogSubscribeFailed(ILogger logger, string group, string queue, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Queue {Queue} exists with other settings ({Error}); using it as it is")]
    private static partial void LogQueueMismatch(ILogger logger, string queue, string error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Could not settle delivery of event {EventId} in group {Group} ({Error}); the broker will deliver it again")]
    private static partial void LogAckFailed(ILogger logger, string eventId, string group, string error);

    /// <summary>An event encoded once for every send attempt.</summary>
    private sealed record Outgoing(string Id, string RoutingKey, BasicProperties Properties, ReadOnlyMemory<byte> Body)
    {
        public static Outgoing For(CloudEvent evt)
        {
            var headers = new Dictionary<string, object?>
            {
                ["cloudEvents:specversion"] = "1.0",
                ["cloudEvents:id"] = evt.Id,
                ["cloudEvents:source"] = evt.Source,
                ["cloudEvents:type"] = evt.Type,
                ["cloudEvents:time"] = evt.Time.ToString("O", CultureInfo.InvariantCulture),
            };
            if (evt.Subject is not null)
            {
                headers["cloudEvents:subject"] = evt.Subject;
            }

            var properties = NewProperties(evt.Id, evt.Type, headers);
            properties.Timestamp = new AmqpTimestamp(evt.Time.ToUnixTimeSeconds());
            return new Outgoing(evt.Id, evt.Type, properties, JsonSerializer.SerializeToUtf8Bytes(evt, JsonDefaults.Options));
        }
    }

    /// <summary>One handler consuming a group's queue on its own channel.</summary>
    private sealed class Subscription(RabbitMqBus bus, string group, string pattern, string queue, Func<CloudEvent, CancellationToken, Task> handler, SubscriptionOptions options)
        : IAsyncDisposable
    {
        private readonly CancellationTokenSource _cts = CancellationTokenSource.CreateLinkedTokenSource(bus._stopping.Token);
        private readonly TaskCompletionSource _declared = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Task _start = Task.CompletedTask;
        private IChannel? _channel;
        private string? _consumerTag;
        private int _running;
        private int _disposed;

        public string Group { get; } = group;
        public string Queue { get; } = queue;

        /// <summary>Completes when the queue and its binding exist (or the subscription stopped trying).</summary>
        public Task Declared => _declared.Task;

        public void Start() => _start = Task.Run(() => StartAsync(_cts.Token));

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 1)
            {
                return;
            }

            lock (bus._gate)
            {
                bus._subscriptions.Remove(this);
            }

            await _cts.CancelAsync().ConfigureAwait(false);
            _declared.TrySetResult();
            await _start.ConfigureAwait(false);
            if (_channel is { } channel)
            {
                try
                {
                    if (_consumerTag is not null && channel.IsOpen)
                    {
                        await channel.BasicCancelAsync(_consumerTag, noWait: false).ConfigureAwait(false);
                    }

                    // Handlers saw the cancellation; wait for them to leave before the channel (and its unacked events) goes.
                    var deadline = bus._time.GetUtcNow() + TimeSpan.FromSeconds(5);
                    while (Volatile.Read(ref _running) > 0 && bus._time.GetUtcNow() < deadline)
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(5), bus._time).ConfigureAwait(false);
                    }

                    if (channel.IsOpen)
                    {
                        await channel.CloseAsync().ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException or ObjectDisposedException)
                {
                    // The connection is gone; the broker requeued whatever was unacknowledged.
                }

                channel.Dispose();
            }

            _cts.Dispose();
        }

        private async Task StartAsync(CancellationToken cancellationToken)
        {
            try
            {
                var connection = await bus._connected.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                var delay = TimeSpan.FromMilliseconds(200);
                var declareArguments = true;
                while (!cancellationToken.IsCancellationRequested)
                {
                    IChannel? channel = null;
                    try
                    {
                        channel = await connection.CreateChannelAsync(
                            new CreateChannelOptions(false, false, consumerDispatchConcurrency: (ushort)options.Concurrency), cancellationToken).ConfigureAwait(false);
                        if (declareArguments)
                        {
                            Dictionary<string, object?> arguments = new()
                            {
                                ["x-max-length"] = options.Capacity,
                                ["x-overflow"] = "reject-publish",
                            };
                            // A transient group's queue goes with its last consumer (a per-process group of a process that died).
                            await channel.QueueDeclareAsync(Queue, durable: !options.Transient, exclusive: false, autoDelete: options.Transient, arguments, cancellationToken: cancellationToken).ConfigureAwait(false);
                        }
                        else
                        {
                            await channel.QueueDeclarePassiveAsync(Queue, cancellationToken).ConfigureAwait(false);
                        }

                        await channel.QueueBindAsync(Queue, bus._options.Exchange, pattern, cancellationToken: cancellationToken).ConfigureAwait(false);
                        await channel.BasicQosAsync(0, (ushort)options.Concurrency, global: false, cancellationToken).ConfigureAwait(false);
                        _declared.TrySetResult();
                        var consumer = new AsyncEventingBasicConsumer(channel);
                        consumer.ReceivedAsync += (_, delivery) => ReceiveAsync(channel, delivery);
                        _channel = channel;
                        _consumerTag = await channel.BasicConsumeAsync(Queue, autoAck: false, consumer, cancellationToken).ConfigureAwait(false);
                        return;
                    }
                    catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 406 && declareArguments)
                    {
                        // Another subscriber declared this queue with another capacity: share it as it is.
                        LogQueueMismatch(bus._logger, Queue, e.Message);
                        declareArguments = false;
                        channel?.Dispose();
                        continue;
                    }
                    catch (Exception e) when (!cancellationToken.IsCancellationRequested)
                    {
                        LogSubscribeFailed(bus._logger, Group, Queue, e.Message);
                        if (channel is not null && !ReferenceEquals(channel, _channel))
                        {
                            channel.Dispose();
                        }
                    }

                    await Task.Delay(delay, bus._time, cancellationToken).ConfigureAwait(false);
                    delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopped before the queue was ready.
            }
            finally
            {
                _declared.TrySetResult();
            }
        }

        private async Task ReceiveAsync(IChannel channel, BasicDeliverEventArgs delivery)
        {
            var token = _cts.Token;
            if (token.IsCancellationRequested)
            {
                // Leave it unacknowledged: the broker gives it to another consumer once this channel closes.
                return;
            }

            Interlocked.Increment(ref _running);
            try
            {
                await HandleAsync(channel, delivery, token).ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref _running);
            }
        }

        private async Task HandleAsync(IChannel channel, BasicDeliverEventArgs delivery, CancellationToken token)
        {
            var id = delivery.BasicProperties.MessageId ?? "?";
            CloudEvent? evt = null;
            string? undecodable = null;
            try
            {
                evt = JsonSerializer.Deserialize<CloudEvent>(delivery.Body.Span, JsonDefaults.Options);
            }
            catch (JsonException e)
            {
                undecodable = $"{e.GetType().FullName}: {e.Message}";
            }

            if (evt is null)
            {
                await GiveUpAsync(channel, delivery, null, 1, undecodable ?? "empty event", id).ConfigureAwait(false);
                return;
            }

            var attempts = 0;
            while (true)
            {
                attempts++;
                try
                {
                    await handler(evt, token).ConfigureAwait(false);
                    await SettleAsync(() => channel.BasicAckAsync(delivery.DeliveryTag, multiple: false), id).ConfigureAwait(false);
                    return;
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    // Interrupted by a stop, not failed: no ack, so the broker delivers it again.
                    return;
                }
                catch (Exception e)
                {
                    LogHandlerFailed(bus._logger, e, Group, evt.Id, evt.Type, attempts, options.MaxAttempts);
                    if (attempts >= options.MaxAttempts)
                    {
                        await GiveUpAsync(channel, delivery, evt, attempts, $"{e.GetType().FullName}: {e.Message}", id).ConfigureAwait(false);
                        return;
                    }
                }

                try
                {
                    await Task.Delay(options.RetryDelay, bus._time, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }

        private async Task GiveUpAsync(IChannel channel, BasicDeliverEventArgs delivery, CloudEvent? evt, int attempts, string error, string id)
        {
            try
            {
                await bus.DeadLetterAsync(this, evt, delivery.BasicProperties, delivery.Body, attempts, error, _cts.Token).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Not in the dead-letter queue yet: leave it unacknowledged so it comes back rather than vanish.
                LogAckFailed(bus._logger, id, Group, e.Message);
                return;
            }

            await SettleAsync(() => channel.BasicAckAsync(delivery.DeliveryTag, multiple: false), id).ConfigureAwait(false);
        }

        private async Task SettleAsync(Func<ValueTask> settle, string id)
        {
            try
            {
                await settle().ConfigureAwait(false);
            }
            catch (Exception e) when (e is AlreadyClosedException or OperationInterruptedException or ObjectDisposedException)
            {
                LogAckFailed(bus._logger, id, Group, e.Message);
            }
        }
    }
}
