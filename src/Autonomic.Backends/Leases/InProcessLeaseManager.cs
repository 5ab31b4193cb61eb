using Autonomic.Core.Abstractions;

namespace Autonomic.Backends.Leases;

/// <summary>
/// An <see cref="ILeaseManager"/> inside one process: the embedded default, for a control plane whose agents all
/// run in the same process. Expiry follows the injected <see cref="TimeProvider"/> (a lease is expired from the
/// instant <see cref="Lease.ExpiresAt"/> on). Renewing a live lease keeps its token; every new grant of a key (a
/// new holder, or the same owner after its lease lapsed or was released) gets a larger token than any before it, and
/// never less than the current Unix time in milliseconds, so tokens keep growing across restarts of the process.
/// Nothing else survives the process.
/// </summary>
public sealed class InProcessLeaseManager : ILeaseManager
{
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, Lease> _held = new(StringComparer.Ordinal);

    // Kept after release and expiry so that tokens never go backwards for a key.
    private readonly Dictionary<string, long> _tokens = new(StringComparer.Ordinal);

    /// <summary>Creates a manager with no leases.</summary>
    public InProcessLeaseManager(TimeProvider? timeProvider = null) => _time = timeProvider ?? TimeProvider.System;

    /// <inheritdoc />
    public Task<Lease?> TryAcquireAsync(string key, string owner, TimeSpan ttl, CancellationToken cancellationToken = default)
    {
        LeaseArguments.Lease(key, owner, ttl);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var now = _time.GetUtcNow();
            if (_held.TryGetValue(key, out var current) && current.ExpiresAt > now)
            {
                if (current.Owner != owner)
                {
                    return Task.FromResult<Lease?>(null);
                }

                var renewed = current with { ExpiresAt = now + ttl };
                _held[key] = renewed;
                return Task.FromResult<Lease?>(renewed);
            }

            // At least the time in milliseconds: a control plane started again (tokens do not survive the process)
            // still writes with a larger fencing token than its previous run left in the store.
            var token = Math.Max(_tokens.GetValueOrDefault(key) + 1, now.ToUnixTimeMilliseconds());
            _tokens[key] = token;
            var granted = new Lease(key, owner, token, now + ttl);
            _held[key] = granted;
            return Task.FromResult<Lease?>(granted);
        }
    }

    /// <inheritdoc />
    public Task ReleaseAsync(string key, string owner, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (_held.TryGetValue(key, out var current) && current.Owner == owner)
            {
                _held.Remove(key);
            }
        }

        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task<Lease?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (_held.TryGetValue(key, out var current))
            {
                if (current.ExpiresAt > _time.GetUtcNow())
                {
                    return Task.FromResult<Lease?>(current);
                }

                _held.Remove(key);
            }

            return Task.FromResult<Lease?>(null);
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
