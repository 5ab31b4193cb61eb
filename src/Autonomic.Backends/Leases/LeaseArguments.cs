namespace Autonomic.Backends.Leases;

/// <summary>Argument checks shared by every lease and rate-limiter backend, so they refuse the same inputs.</summary>
internal static class LeaseArguments
{
    public static void Lease(string key, string owner, TimeSpan ttl)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        Ttl(ttl);
    }

    public static void Ttl(TimeSpan ttl)
    {
        // Redis expiries are whole milliseconds; anything shorter would round to "no lease".
        if (ttl < TimeSpan.FromMilliseconds(1))
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), ttl, "a lease TTL must be at least 1 ms");
        }
    }

    public static void Bucket(string key, int capacity, double perSecond)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        if (!(perSecond > 0) || double.IsInfinity(perSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(perSecond), perSecond, "a refill rate must be a positive, finite number of tokens per second");
        }
    }
}
