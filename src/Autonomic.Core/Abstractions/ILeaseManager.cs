namespace Autonomic.Core.Abstractions;

/// <summary>A held lease. <see cref="Token"/> grows with every new holder of the key (a fencing token).</summary>
public sealed record Lease(string Key, string Owner, long Token, DateTimeOffset ExpiresAt);

/// <summary>
/// Leases for "one actor per subject": before acting on a service an agent holds its lease. A holder renews by
/// acquiring again before the TTL ends; when it dies, the lease expires and another owner can take it.
/// </summary>
public interface ILeaseManager : IAsyncDisposable
{
    /// <summary>
    /// Acquires <paramref name="key"/> for <paramref name="owner"/>, or renews it if the owner holds it already.
    /// Null when another owner holds an unexpired lease.
    /// </summary>
    Task<Lease?> TryAcquireAsync(string key, string owner, TimeSpan ttl, CancellationToken cancellationToken = default);

    /// <summary>Releases the lease if <paramref name="owner"/> holds it; otherwise does nothing.</summary>
    Task ReleaseAsync(string key, string owner, CancellationToken cancellationToken = default);

    /// <summary>The current holder, or null when the key is free.</summary>
    Task<Lease?> GetAsync(string key, CancellationToken cancellationToken = default);
}

/// <summary>
/// Token-bucket rate limits shared by every agent process (remediation rate limits, API limits): a bucket of
/// <c>capacity</c> tokens refilled at <c>perSecond</c>.
/// </summary>
public interface IRateLimiter : IAsyncDisposable
{
    /// <summary>Takes one token from the bucket <paramref name="key"/> if there is one.</summary>
    Task<bool> TryTakeAsync(string key, int capacity, double perSecond, CancellationToken cancellationToken = default);
}
