using Autonomic.Core.Security;
using Microsoft.AspNetCore.Http;

namespace Autonomic.Http;

/// <summary>
/// The <see cref="AccessEvent"/> of a request that has ended, as the gateway and the load balancers report it: the
/// caller's address, method, path with query (at most 2,048 characters), status and user agent (at most 256). One source
/// compiled into both.
/// </summary>
internal static class AccessEventOf
{
    public static AccessEvent Request(HttpContext context, DateTimeOffset time, TimeSpan duration, string? keyId = null, string? requestId = null, string? service = null)
    {
        var request = context.Request;
        return new AccessEvent
        {
            Time = time,
            ClientIp = context.Connection.RemoteIpAddress?.ToString() ?? "",
            KeyId = keyId,
            Method = request.Method,
            Path = Truncate((request.Path.Value ?? "/") + request.QueryString.Value, 2048),
            Status = context.Response.StatusCode,
            UserAgent = request.Headers.UserAgent is [{ } agent] ? Truncate(agent, 256) : null,
            DurationMs = duration.TotalMilliseconds,
            RequestId = requestId,
            Service = service,
        };
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}
