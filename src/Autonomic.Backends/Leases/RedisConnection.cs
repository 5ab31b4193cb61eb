using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Autonomic.Backends.Leases;

/// <summary>
/// One StackExchange.Redis multiplexer shared by a lease manager and a rate limiter, connected on first use and
/// closed when its last user is disposed. Client failures come out as <see cref="LeaseBackendUnavailableException"/>.
/// </summary>
internal sealed class RedisConnection
{
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private ConnectionMultiplexer? _multiplexer;
    private int _users = 1;

    public RedisConnection(RedisUrl url, ILogger logger)
    {
        Url = url;
        _logger = logger;
    }

    public RedisUrl Url { get; }

    /// <summary>Adds a user: the connection closes when every user has called <see cref="ReleaseAsync"/>.</summary>
    public RedisConnection AddUser()
    {
        Interlocked.Increment(ref _users);
        return this;
    }

    public async Task<T> RunAsync<T>(string operation, Func<IDatabase, Task<T>> command, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _users) <= 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            var multiplexer = _multiplexer ?? await ConnectAsync(cancellationToken);
            return await command(multiplexer.GetDatabase(Url.Database)).WaitAsync(cancellationToken);
        }
        catch (RedisConnectionException e)
        {
            throw Unavailable(operation, e);
        }
        catch (RedisTimeoutException e)
        {
            throw Unavailable(operation, e);
        }
        catch (ObjectDisposedException e) when (Volatile.Read(ref _users) <= 0)
        {
            throw Unavailable(operation, e);
        }
    }

    public async ValueTask ReleaseAsync()
    {
        if (Interlocked.Decrement(ref _users) != 0)
        {
            return;
        }

        var multiplexer = Interlocked.Exchange(ref _multiplexer, null);
        if (multiplexer is not null)
        {
            await multiplexer.CloseAsync(allowCommandsToComplete: false);
            await multiplexer.DisposeAsync();
            _logger.LogDebug("Closed the connection to redis at {Url}", Url.Masked);
        }
    }

    private async Task<ConnectionMultiplexer> ConnectAsync(CancellationToken cancellationToken)
    {
        await _connecting.WaitAsync(cancellationToken);
        try
        {
            if (_multiplexer is { } existing)
            {
                return existing;
            }

            var options = new ConfigurationOptions
            {
                User = Url.User,
                Password = Url.Password,
                DefaultDatabase = Url.Database,
                ClientName = "autonomic",
                ConnectTimeout = (int)Url.ConnectTimeout.TotalMilliseconds,
                ConnectRetry = 1,

                // Fail the first connection loudly; once connected, the client reconnects by itself.
                AbortOnConnectFail = true,
            };
            options.EndPoints.Add(Url.Host, Url.Port);
            var multiplexer = await ConnectionMultiplexer.ConnectAsync(options);
            _logger.LogInformation("Connected to redis at {Url} (key prefix {Prefix})", Url.Masked, Url.Prefix);
            _multiplexer = multiplexer;
            return multiplexer;
        }
        finally
        {
            _connecting.Release();
        }
    }

    private LeaseBackendUnavailableException Unavailable(string operation, Exception inner)
    {
        _logger.LogWarning("Redis at {Url} is unavailable during {Operation}: {Error}", Url.Masked, operation, inner.GetType().Name);
        return new LeaseBackendUnavailableException($"redis at {Url.Masked} is unavailable ({operation}): {inner.GetType().Name}", inner);
    }
}
