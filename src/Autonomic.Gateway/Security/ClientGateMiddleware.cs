using Autonomic.Core.Abstractions;
using Autonomic.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Autonomic.Gateway.Security;

/// <summary>
/// Answers 403 to requests from a source the security agent blocked and 429 to a rate-limited client over its limit
/// (problem details with <c>Retry-After</c>), before any other work is done for them. The load balancers do the same.
/// </summary>
public sealed class ClientGateMiddleware(RequestDelegate next, IClientGate gate)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (!await ClientGateAnswer.RefuseAsync(context, gate))
        {
            await next(context);
        }
    }
}

/// <summary>Adds <see cref="ClientGateMiddleware"/> to a pipeline.</summary>
public static class ClientGateMiddlewareExtensions
{
    /// <summary>Blocked and over-limit clients are turned away from here on; needs an <see cref="IClientGate"/> registered.</summary>
    public static IApplicationBuilder UseClientGate(this IApplicationBuilder app) => app.UseMiddleware<ClientGateMiddleware>();
}
