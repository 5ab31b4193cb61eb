using System.Net;

namespace Autonomic.Core.Abstractions;

/// <summary>
/// Why a request from a client is turned away: a block (403) or a rate limit the client is over (429). The gateway
/// and the load balancer answer it as RFC 9457 problem details with <c>Retry-After</c>.
/// </summary>
/// <param name="Status">403 for a block, 429 for a rate limit.</param>
/// <param name="Title">Short title, e.g. <c>source blocked</c>.</param>
/// <param name="Detail">What holds and until when.</param>
/// <param name="Rule">The rule (or <c>security.manual</c>) behind the response.</param>
/// <param name="Until">When the response ends.</param>
/// <param name="RetryAfter">How long the client should wait before its next request.</param>
public sealed record GateRefusal(int Status, string Title, string Detail, string Rule, DateTimeOffset Until, TimeSpan RetryAfter);

/// <summary>
/// The security responses that apply to a client address, asked on every request by the gateway and the load
/// balancers. Answering never does I/O: it reads in-memory snapshots kept current from the bus and the store.
/// </summary>
public interface IClientGate
{
    /// <summary>Null when a request from <paramref name="ip"/> may pass now; otherwise why not. Takes a token from the client's rate limit, if it has one.</summary>
    GateRefusal? Check(IPAddress ip);
}

/// <summary>
/// Instances the security agent quarantined: out of the load balancer, kept running for forensics. A fast in-memory
/// snapshot like <see cref="IBlocklist"/>.
/// </summary>
public interface IQuarantine
{
    /// <summary>True while <paramref name="instanceId"/> is quarantined.</summary>
    bool IsQuarantined(string instanceId);

    /// <summary>Raised after the set of quarantined instances changed.</summary>
    event Action? Changed;
}
