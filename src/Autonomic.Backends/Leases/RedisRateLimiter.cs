using Autonomic.Core.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Autonomic.Backends.Leases;

/// <summary>
/// An <see cref="IRateLimiter"/> on Redis, one bucket shared by every agent process. A bucket is the hash
/// <c>{prefix}rate:{key}</c> (tokens, last refill in ms); one Lua script refills it from Redis's own clock
/// (<c>TIME</c>), takes a token and writes it back, so concurrent takers never exceed the capacity and clock skew
/// between processes does not matter. A bucket that would be full again expires, so idle keys cost nothing.
/// </summary>
public sealed class RedisRateLimiter : IRateLimiter
{
    // KEYS[1] bucket; ARGV[1] capacity, ARGV[2] tokens per second. Returns 1 when a token was taken, else 0.
    private const string TakeScript = """
        local capacity = tonumber(ARGV[1])
        local rate = tonumber(ARGV[2])
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
        local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
        local tokens = tonumber(state[1])
        local at = tonumber(state[2])
        if tokens == nil or at == nil then
          tokens = capacity
          at = now
        end
        if now > at then
          tokens = math.min(capacity, tokens + (now - at) * rate / 1000)
          at = now
        end
        tokens = math.min(tokens, capacity)
        local taken = 0
        if tokens >= 1 then
          tokens = tokens - 1
          taken = 1
        end
        redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', at)
        redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - tokens) * 1000 / rate) + 1000)
        return taken
        """;

    private readonly RedisConnection _connection;
    private int _disposed;

    /// <summary>Creates a limiter with its own connection to <paramref name="url"/> (connected on first use).</summary>
    public RedisRateLimiter(string url, ILogger<RedisRateLimiter>? logger = null)
        : this(new RedisConnection(RedisUrl.Parse(url), logger ?? (ILogger)NullLogger.Instance))
    {
    }

    internal RedisRateLimiter(RedisConnection connection) => _connection = connection;

    /// <inheritdoc />
    public async Task<bool> TryTakeAsync(string key, int capacity, double perSecond, CancellationToken cancellationToken = default)
    {
        LeaseArguments.Bucket(key, capacity, perSecond);
        var taken = await _connection.RunAsync(
            "take",
            db => db.ScriptEvaluateAsync(TakeScript, [(RedisKey)(_connection.Url.Prefix + "rate:" + key)], [capacity, perSecond]),
            cancellationToken);
        return (long)taken == 1;
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _disposed, 1) == 0 ? _connection.ReleaseAsync() : ValueTask.CompletedTask;
}
