using System.Net;

namespace Autonomic.Core.Abstractions;

/// <summary>Why and until when a source address is blocked.</summary>
public sealed record BlockInfo(string Ip, string Reason, string Rule, DateTimeOffset Until, int Count);

/// <summary>
/// The source addresses the security agent blocked, as a fast in-memory snapshot: answering never does I/O, so the
/// gateway and the load balancer can ask on every request. Expired blocks answer false.
/// </summary>
public interface IBlocklist
{
    /// <summary>True when <paramref name="ip"/> is blocked now; <paramref name="info"/> says why and until when.</summary>
    bool IsBlocked(IPAddress ip, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BlockInfo? info);
}
