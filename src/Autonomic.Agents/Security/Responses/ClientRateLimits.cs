using System.Globalization;
using System.Net;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Security;

namespace Autonomic.Agents.Security;

/// <summary>
/// Clients the security agent rate-limited, each with a token bucket (burst and refill both the limit per second).
/// Answers from memory; kept current like the <see cref="Blocklist"/> (responder, store refresh, bus events). A
/// refresh that finds the same limit keeps the client's bucket, so re-reading the store does not hand out a new burst.
/// </summary>
public sealed class ClientRateLimits(TimeProvider time)
{
    private readonly SnapshotMap<IPAddress, Limit> _limits = new();

    public int Count => _limits.Count;

    /// <summary>Takes a token for <paramref name="ip"/>; null when it may pass (no limit, or a token was left).</summary>
    public GateRefusal? TryTake(IPAddress ip)
    {
        ArgumentNullException.ThrowIfNull(ip);
        if (!_limits.TryGet(Blocklist.Normalize(ip), out var limit))
        {
            return null;
        }

        var now = time.GetUtcNow();
        if (limit.Record.Until <= now)
        {
            return null;
        }

        var wait = limit.Take(time.GetTimestamp(), time.TimestampFrequency);
        if (wait <= TimeSpan.Zero)
        {
            return null;
        }

        var r = limit.Record;
        var rps = limit.PerSecond.ToString("0.###", CultureInfo.InvariantCulture);
        return new GateRefusal(429, "rate limited", $"requests from {r.Target} are limited to {rps}/s until {r.Until:O} (rule {r.Rule})", r.Rule, r.Until, wait);
    }

    /// <summary>Adds, replaces or (when inactive or a dry run) removes the limit a record describes.</summary>
    public void Set(ResponseRecord record)
    {
        if (!IPAddress.TryParse(record.Target, out var ip))
        {
            return;
        }

        ip = Blocklist.Normalize(ip);
        if (record.Active && !record.DryRun && record.RequestsPerSecond is > 0)
        {
            if (!_limits.TryGet(ip, out var existing) || !existing.Same(record))
            {
                _limits.Set(ip, new Limit(record, time.GetTimestamp()));
            }
        }
        else
        {
            _limits.Remove(ip);
        }
    }

    public void Remove(string target)
    {
        if (IPAddress.TryParse(target, out var ip))
        {
            _limits.Remove(Blocklist.Normalize(ip));
        }
    }

    /// <summary>Replaces every limit with those of <paramref name="records"/> that are in force.</summary>
    public void Replace(IEnumerable<ResponseRecord> records)
    {
        var now = time.GetUtcNow();
        var next = new Dictionary<IPAddress, Limit>();
        foreach (var record in records)
        {
            if (record.InForce(now) && record.RequestsPerSecond is > 0 && IPAddress.TryParse(record.Target, out var ip))
            {
                ip = Blocklist.Normalize(ip);
                next[ip] = _limits.TryGet(ip, out var existing) && existing.Same(record) ? existing : new Limit(record, time.GetTimestamp());
            }
        }

        _limits.Replace(next);
    }

    private sealed class Limit(ResponseRecord record, long start)
    {
        private readonly Lock _lock = new();
        private double _tokens = Math.Max(1, record.RequestsPerSecond ?? 1);
        private long _last = start;

        public ResponseRecord Record { get; } = record;

        public double PerSecond { get; } = record.RequestsPerSecond ?? 1;

        private double Burst => Math.Max(1, PerSecond);

        public bool Same(ResponseRecord other) =>
            other.Target == Record.Target && other.Until == Record.Until && other.RequestsPerSecond == Record.RequestsPerSecond;

        /// <summary>Zero when a token was taken; otherwise how long until the next one.</summary>
        public TimeSpan Take(long now, long frequency)
        {
            lock (_lock)
            {
                _tokens = Math.Min(Burst, _tokens + ((now - _last) / (double)frequency * PerSecond));
                _last = now;
                if (_tokens >= 1)
                {
                    _tokens -= 1;
                    return TimeSpan.Zero;
                }

                return TimeSpan.FromSeconds((1 - _tokens) / PerSecond);
            }
        }
    }
}
