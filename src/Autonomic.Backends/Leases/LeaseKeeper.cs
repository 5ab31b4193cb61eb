using Autonomic.Core.Abstractions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Autonomic.Backends.Leases;

/// <summary>
/// Holds one lease for as long as its owner works under it: renews it every TTL/3, and cancels
/// <see cref="Lost"/> once the lease can no longer be trusted: another owner holds it, it was granted anew (a
/// new fencing token: it lapsed in between), or renewals failed until the TTL had run out since the last
/// successful one was sent. Disposing stops renewing and releases the lease if this owner still holds it. Work
/// done under the lease should pass <see cref="Lost"/> on, and <see cref="Lease"/>'s token to anything that fences.
/// Uses only <see cref="ILeaseManager"/> and <see cref="TimeProvider"/>: it does no I/O of its own.
/// </summary>
public sealed class LeaseKeeper : IAsyncDisposable
{
    private readonly ILeaseManager _leases;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly TimeSpan _ttl;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _renewing;
    private Lease _lease;
    private int _disposed;

    private LeaseKeeper(ILeaseManager leases, Lease lease, TimeSpan ttl, long sentAt, TimeProvider time, ILogger logger)
    {
        _leases = leases;
        _lease = lease;
        _ttl = ttl;
        _time = time;
        _logger = logger;
        _renewing = RenewAsync(sentAt);
    }

    /// <summary>The lease as last granted or renewed.</summary>
    public Lease Lease => Volatile.Read(ref _lease);

    /// <summary>Cancelled when the lease is lost (not when the keeper is merely disposed).</summary>
    public CancellationToken Lost => _lost.Token;

    /// <summary>True until the lease is lost or the keeper disposed.</summary>
    public bool IsHeld => !_lost.IsCancellationRequested && Volatile.Read(ref _disposed) == 0;

    /// <summary>
    /// Acquires <paramref name="key"/> for <paramref name="owner"/> and keeps it; null when another owner holds it.
    /// </summary>
    public static async Task<LeaseKeeper?> TryAcquireAsync(
        ILeaseManager leases,
        string key,
        string owner,
        TimeSpan ttl,
        TimeProvider? timeProvider = null,
        ILogger? logger = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(leases);
        var time = timeProvider ?? TimeProvider.System;
        var sentAt = time.GetTimestamp();
        var lease = await leases.TryAcquireAsync(key, owner, ttl, cancellationToken);
        return lease is null ? null : new LeaseKeeper(leases, lease, ttl, sentAt, time, logger ?? NullLogger.Instance);
    }

    /// <summary>Stops renewing and releases the lease if it is still this owner's.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync();
        await _renewing;
        var lease = Lease;
        try
        {
            // Owner-checked, so harmless when another owner has taken over meanwhile.
            await _leases.ReleaseAsync(lease.Key, lease.Owner);
        }
        catch (Exception e) when (e is IOException or TimeoutException or ObjectDisposedException)
        {
            _logger.LogWarning("Could not release lease {Key} for {Owner}; it will expire by itself: {Error}", lease.Key, lease.Owner, e.Message);
        }

        _stopping.Dispose();
    }

    private async Task RenewAsync(long lastGrantSentAt)
    {
        var stopping = _stopping.Token;

        // Ticks fall at fixed times from the grant however long a renewal takes, and a tick missed while a renewal
        // was slow is taken at once rather than a full period later.
        using var ticks = new PeriodicTimer(TimeSpan.FromTicks(Math.Max(_ttl.Ticks / 3, TimeSpan.TicksPerMillisecond)), _time);
        while (true)
        {
            try
            {
                if (!await ticks.WaitForNextTickAsync(stopping))
                {
                    return;
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var current = Lease;
            var sentAt = _time.GetTimestamp();

            // A renewal still pending when the TTL since the last good one has run out cannot save the lease.
            var remaining = _ttl - _time.GetElapsedTime(lastGrantSentAt);
            using var expired = new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, _time);
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(stopping, expired.Token);
            try
            {
                var renewed = await _leases.TryAcquireAsync(current.Key, current.Owner, _ttl, attempt.Token);
                if (renewed is null || renewed.Token != current.Token)
                {
                    if (renewed is not null)
                    {
                        Volatile.Write(ref _lease, renewed);
                    }

                    await LoseAsync(current, renewed is null ? "another owner holds it" : "it lapsed before it was renewed");
                    return;
                }

                Volatile.Write(ref _lease, renewed);
                lastGrantSentAt = sentAt;
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (expired.IsCancellationRequested || _time.GetElapsedTime(lastGrantSentAt) >= _ttl)
            {
                await LoseAsync(current, $"renewals failed for a whole TTL ({e.GetType().Name})");
                return;
            }
            catch (Exception e)
            {
                // The backend may come back before the TTL runs out; until then the lease is still ours.
                _logger.LogWarning("Renewing lease {Key} for {Owner} failed; retrying: {Error}", current.Key, current.Owner, e.Message);
            }
        }
    }

    private async Task LoseAsync(Lease lease, string reason)
    {
        _logger.LogWarning("Lease {Key} lost by {Owner} (token {Token}): {Reason}", lease.Key, lease.Owner, lease.Token, reason);
        await _lost.CancelAsync();
    }
}
