using Autonomic.Core.Abstractions;
using Microsoft.Extensions.Logging;

namespace Autonomic.Backends.Leases;

/// <summary>
/// Lease and rate-limit backends named by URL: <c>inprocess://</c> (the default, for agents in one process) or
/// <c>redis://[:password@]host:port/db[?prefix=...]</c> (shared by agent processes). An unknown scheme is an error
/// naming the known ones and the closest match.
/// </summary>
public static class LeaseBackends
{
    /// <summary>The URL used when none is configured.</summary>
    public const string DefaultUrl = "inprocess://";

    /// <summary>Schemes this build knows.</summary>
    public static readonly IReadOnlyList<string> Schemes = ["inprocess", "redis"];

    /// <summary>
    /// Creates the lease manager and rate limiter named by <paramref name="url"/> (null or empty: in-process). For
    /// Redis both share one connection, opened on first use and closed when both are disposed.
    /// </summary>
    public static (ILeaseManager Leases, IRateLimiter RateLimiter) Create(string? url, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(loggers);
        url = string.IsNullOrWhiteSpace(url) ? DefaultUrl : url.Trim();
        var colon = url.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new ArgumentException($"lease URL '{url}' has no scheme; expected one of: {Known()}", nameof(url));
        }

        var scheme = url[..colon].ToLowerInvariant();
        switch (scheme)
        {
            case "inprocess":
                return (new InProcessLeaseManager(time), new InProcessRateLimiter(time));
            case "redis":
                var logger = loggers.CreateLogger<RedisLeaseManager>();
                var connection = new RedisConnection(RedisUrl.Parse(url), logger);
                return (new RedisLeaseManager(connection, time, logger), new RedisRateLimiter(connection.AddUser()));
            default:
                var best = Schemes.OrderBy(k => BackendRegistry.Distance(k, scheme)).First();
                var hint = BackendRegistry.Distance(best, scheme) <= Math.Max(2, best.Length / 2) ? $" did you mean '{best}:'?" : "";
                // Only the scheme is echoed: the rest of the URL may hold a password.
                throw new ArgumentException($"unknown lease backend '{scheme}:':{hint} known: {Known()}", nameof(url));
        }
    }

    private static string Known() => string.Join(", ", Schemes.Select(s => s + ":"));
}
