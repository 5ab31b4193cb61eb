using System.Collections;
using System.Diagnostics;
using Autonomic.Agents.Security;
using Autonomic.Core.Security;
using Autonomic.Gateway.Auth;
using Autonomic.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Autonomic.Gateway.Http;

/// <summary>
/// The outermost middleware: gives every request an id (<c>X-Request-Id</c>: the caller's when it is a plain token of
/// at most 128 characters, else a new one) and a logging scope carrying it, sets the security headers on every
/// response, and queues one <see cref="AccessEvent"/> when the request ends.
/// </summary>
internal sealed class RequestContextMiddleware(RequestDelegate next, AccessEventQueue access, TimeProvider time, ILoggerFactory logs)
{
    public const string RequestIdHeader = "X-Request-Id";

    /// <summary>Same-origin SPA: scripts, styles, images and API calls from this origin only; no framing, no plugins.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; " +
        "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

    private readonly ILogger logger = logs.CreateLogger("Autonomic.Gateway.Requests");

    public async Task InvokeAsync(HttpContext context)
    {
        var started = time.GetTimestamp();
        var id = context.Request.Headers[RequestIdHeader] is [{ } given] && IsValidId(given) ? given : Guid.NewGuid().ToString("N");
        context.TraceIdentifier = id;
        context.Response.OnStarting(static state =>
        {
            var ctx = (HttpContext)state;
            var headers = ctx.Response.Headers;
            headers[RequestIdHeader] = ctx.TraceIdentifier;
            headers.XContentTypeOptions = "nosniff";
            headers.XFrameOptions = "DENY";
            headers["Referrer-Policy"] = "no-referrer";
            headers.ContentSecurityPolicy = ContentSecurityPolicy;
            if (ctx.Request.Path.StartsWithSegments("/api", StringComparison.Ordinal))
            {
                headers.CacheControl = "no-store";
            }

            return Task.CompletedTask;
        }, context);

        using var scope = logger.BeginScope(new RequestScope(id));
        try
        {
            await next(context);
        }
        finally
        {
            access.Write(AccessEventOf.Request(
                context, time.GetUtcNow(), time.GetElapsedTime(started), (context.Items[ApiKeyAuthenticationHandler.KeyItem] as ApiKeyRecord)?.Id, id));
        }
    }

    internal static bool IsValidId(string id)
    {
        if (id.Length is 0 or > 128)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_' or '.' or ':'))
            {
                return false;
            }
        }

        return true;
    }


    /// <summary>The request id as a structured scope (<c>RequestId</c>) for JSON logs and as text for plain ones.</summary>
    private sealed class RequestScope(string id) : IReadOnlyList<KeyValuePair<string, object>>
    {
        public KeyValuePair<string, object> this[int index] => index == 0 ? new("RequestId", id) : throw new ArgumentOutOfRangeException(nameof(index));
        public int Count => 1;
        public IEnumerator<KeyValuePair<string, object>> GetEnumerator() { yield return this[0]; }
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
        public override string ToString() => "RequestId:" + id;
    }
}
