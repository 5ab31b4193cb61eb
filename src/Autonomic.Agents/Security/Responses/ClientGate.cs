using System.Net;
using Autonomic.Core.Abstractions;

namespace Autonomic.Agents.Security;

/// <summary>The <see cref="IClientGate"/> of a process: its <see cref="Blocklist"/> (403), then its <see cref="ClientRateLimits"/> (429).</summary>
public sealed class ClientGate(Blocklist blocklist, ClientRateLimits limits, TimeProvider time) : IClientGate
{
    public GateRefusal? Check(IPAddress ip)
    {
        ArgumentNullException.ThrowIfNull(ip);
        if (blocklist.IsBlocked(ip, out var info))
        {
            var left = info.Until - time.GetUtcNow();
            return new GateRefusal(403, "source blocked", $"requests from {info.Ip} are blocked until {info.Until:O} (rule {info.Rule})", info.Rule, info.Until, left);
        }

        return limits.TryTake(ip);
    }
}
