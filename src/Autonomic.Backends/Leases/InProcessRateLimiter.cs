using Autonomic.Core.Abstractions;

namespace Autonomic.Backends.Leases;

/// <summary>
/// An <see cref="IRateLimiter"/> inside one process: token buckets that start full and refill continuously (a
/// fraction of a token accrues between whole ones) on the injected <see cref="TimeProvider"/>'s monotonic clock,
/// never beyond the capacity. Each call uses the capacity and rate it is given. Nothing survives the process.
/// </summary>
public sealed class InProcessRateLimiter : IRateLimiter
{
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>Creates a limiter whose buckets are all full.</summary>
    public InProcessRateLimiter(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    /// <inheritdoc />
    public Task<bool> TryTakeAsync(string key, int capacity, double perSecond, CancellationToken cancellationToken = default)
    {
        LeaseArguments.Bucket(key, capacity, perSecond);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var now = _time.GetTimestamp();
            var tokens = (double)capacity;
            if (_buckets.TryGetValue(key, out var bucket))
            {
                tokens = Math.Min(capacity, bucket.Tokens + (_time.GetElapsedTime(bucket.At, now).TotalSeconds * perSecond));
            }

            var taken = tokens >= 1;
            if (taken)
            {
                tokens -= 1;
            }

            _buckets[key] = new Bucket(tokens, now);
            return Task.FromResult(taken);
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private readonly record struct Bucket(double Tokens, long At);
}
