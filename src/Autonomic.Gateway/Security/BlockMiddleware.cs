using System.Globalization;
using Autonomic.Core.Abstractions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Autonomic.Gateway.Security;

/// <summary>
/// Answers 403 (RFC 9457 problem details, with <c>Retry-After</c>) to requests from a source address the security
/// agent blocked, before any other work is done for them. Asks the <see cref="IBlocklist"/> snapshot: no I/O per request.
/// </summary>
public sealed class BlockMiddleware(RequestDelegate next, IBlocklist blocklist, TimeProvider time)
{
    public async Task InvokeAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.Connection.RemoteIpAddress is { } ip && blocklist.IsBlocked(ip, out var info))
        {
            var seconds = Math.Max(1, (int)Math.Ceiling((info.Until - time.GetUtcNow()).TotalSeconds));
            context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            await Results.Problem(
                    statusCode: StatusCodes.Status403Forbidden,
                    title: "source blocked",
                    detail: $"requests from {info.Ip} are blocked until {info.Until:O} (rule {info.Rule})",
                    extensions: new Dictionary<string, object?> { ["until"] = info.Until, ["rule"] = info.Rule })
                .ExecuteAsync(context);
            return;
        }

        await next(context);
    }
}

/// <summary>Adds <see cref="BlockMiddleware"/> to a pipeline.</summary>
public static class BlockMiddlewareExtensions
{
    /// <summary>Blocked sources get 403 from here on; needs an <see cref="IBlocklist"/> registered.</summary>
    public static IApplicationBuilder UseSecurityBlocklist(this IApplicationBuilder app) => app.UseMiddleware<BlockMiddleware>();
}
