using Autonomic.Core.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Autonomic.Backends.Leases;

/// <summary>
/// An <see cref="ILeaseManager"/> on Redis, shared by agent processes on any number of machines. A lease is the
/// key <c>{prefix}lease:{key}</c> holding the owner, with a Redis expiry: Redis's own clock decides when it ends,
/// so clock skew between agent processes does not matter. Each operation is one Lua script, so it is atomic. The
/// fencing token is an <c>INCR</c> counter at <c>{prefix}lease-token:{key}</c>, bumped only when a lease is granted
/// anew (renewal keeps it) and never below Redis's clock in milliseconds, so a counter lost with a Redis that kept no
/// data starts above every token written before. <see cref="Lease.ExpiresAt"/> is the local time the request was sent plus the
/// remaining time Redis reports, so a holder never believes it holds longer than it does. Disposing closes the
/// connection without releasing anything (a dead process releases nothing either).
/// </summary>
public sealed class RedisLeaseManager : ILeaseManager
{
    // KEYS[1] lease, KEYS[2] token counter; ARGV[1] owner, ARGV[2] ttl ms. Returns {token, pttl} or nil if held by another.
    private const string AcquireScript = """
        local current = redis.call('GET', KEYS[1])
        if current == ARGV[1] then
          redis.call('PEXPIRE', KEYS[1], ARGV[2])
          return {tonumber(redis.call('GET', KEYS[2]) or '0'), tonumber(ARGV[2])}
        elseif current then
          return nil
        end
        redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2])
        local now = redis.call('TIME')
        local floor = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
        local token = redis.call('INCR', KEYS[2])
        if token < floor then
          redis.call('SET', KEYS[2], string.format('%.0f', floor))
          token = floor
        end
        return {token, tonumber(ARGV[2])}
        """;

    // KEYS[1] lease; ARGV[1] owner. Deletes only the owner's own lease.
    private const string ReleaseScript = """
        if redis.call('GET', KEYS[1]) == ARGV[1] then
          return redis.call('DEL', KEYS[1])
        end
        return 0
        """;

    // KEYS[1] lease, KEYS[2] token counter. Returns {owner, token, pttl} or nil when free.
    private const string GetScript = """
        local owner = redis.call('GET', KEYS[1])
        if not owner then
          return nil
        end
        return {owner, tonumber(redis.call('GET', KEYS[2]) or '0'), redis.call('PTTL', KEYS[1])}
        """;

    private readonly RedisConnection _connection;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private int _disposed;

    /// <summary>Creates a manager with its own connection to <paramref name="url"/> (connected on first use).</summary>
    public RedisLeaseManager(string url, TimeProvider? timeProvider = null, ILogger<RedisLeaseManager>? logger = null)
        : this(new RedisConnection(RedisUrl.Parse(url), logger ?? (ILogger)NullLogger.Instance), timeProvider, logger)
    {
    }

    internal RedisLeaseManager(RedisConnection connection, TimeProvider? timeProvider, ILogger? logger)
    {
        _connection = connection;
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public async Task<Lease?> TryAcquireAsync(string key, string owner, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        LeaseArguments.Lease(key, owner, ttl);
        var sentAt = _time.GetUtcNow();
        var ttlMs = (long)Math.Ceiling(ttl.TotalMilliseconds);
        var result = await _connection.RunAsync(
            "acquire",
            db => db.ScriptEvaluateAsync(AcquireScript, [LeaseKey(key), TokenKey(key)], [owner, ttlMs]),
            cancellationToken);
        if (result.IsNull)
        {
            return null;
        }

        var fields = (RedisResult[])result!;
        var lease = new Lease(key, owner, (long)fields[0], sentAt + TimeSpan.FromMilliseconds((long)fields[1]));
        _logger.LogDebug("Lease {Key} held by {Owner} with token {Token} until {ExpiresAt}", key, owner, lease.Token, lease.ExpiresAt);
        return lease;
    }

    /// <inheritdoc />
    public async Task ReleaseAsync(string key, string owner, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        var released = await _connection.RunAsync(
            "release",
            db => db.ScriptEvaluateAsync(ReleaseScript, [LeaseKey(key)], [owner]),
            cancellationToken);
        if ((long)released == 1)
        {
            _logger.LogDebug("Lease {Key} released by {Owner}", key, owner);
        }
    }

    /// <inheritdoc />
    public async Task<Lease?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        var sentAt = _time.GetUtcNow();
        var result = await _connection.RunAsync(
            "get",
            db => db.ScriptEvaluateAsync(GetScript, [LeaseKey(key), TokenKey(key)]),
            cancellationToken);
        if (result.IsNull)
        {
            return null;
        }

        var fields = (RedisResult[])result!;
        var remaining = (long)fields[2];

        // -1 (no expiry) cannot come from this manager; treat a foreign persistent key as held with no known end.
        var expiresAt = remaining >= 0 ? sentAt + TimeSpan.FromMilliseconds(remaining) : DateTimeOffset.MaxValue;
        return new Lease(key, (string)fields[0]!, (long)fields[1], expiresAt);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _disposed, 1) == 0 ? _connection.ReleaseAsync() : ValueTask.CompletedTask;

    private RedisKey LeaseKey(string key) => _connection.Url.Prefix + "lease:" + key;

    private RedisKey TokenKey(string key) => _connection.Url.Prefix + "lease-token:" + key;
}
