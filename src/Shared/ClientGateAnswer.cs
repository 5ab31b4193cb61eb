using System.Globalization;
using Autonomic.Core.Abstractions;
using Microsoft.AspNetCore.Http;

namespace Autonomic.Http;

/// <summary>
/// Turns away requests from clients the security agent blocked (403) or rate-limited past their limit (429), as RFC
/// 9457 problem details with <c>Retry-After</c>, before any other work is done for them. Asks the
/// <see cref="IClientGate"/> snapshot: no I/O per request. One source compiled into the gateway and the load balancer.
/// </summary>
internal static class ClientGateAnswer
{
    /// <summary>Answers the request when the gate refuses it; false when it may go on.</summary>
    public static async Task<bool> RefuseAsync(HttpContext context, IClientGate gate)
    {
        if (context.Connection.RemoteIpAddress is not { } ip || gate.Check(ip) is not { } refusal)
        {
            return false;
        }

        var seconds = Math.Max(1, (int)Math.Ceiling(refusal.RetryAfter.TotalSeconds));
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        await Results.Problem(
                statusCode: refusal.Status,
                title: refusal.Title,
                detail: refusal.Detail,
                extensions: new Dictionary<string, object?> { ["until"] = refusal.Until, ["rule"] = refusal.Rule })
            .ExecuteAsync(context);
        return true;
    }
}
