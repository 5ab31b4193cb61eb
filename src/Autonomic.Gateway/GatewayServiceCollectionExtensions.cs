using System.Text.Json;
using System.Text.Json.Serialization;
using Autonomic.Agents.Security;
using Autonomic.Gateway.Auth;
using Autonomic.Gateway.Dashboard;
using Autonomic.Gateway.Http;
using Autonomic.Gateway.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Autonomic.Gateway;

/// <summary>Registers what the Autonomic HTTP API needs besides the store and fault injector the host provides.</summary>
public static class GatewayServiceCollectionExtensions
{
    /// <summary>
    /// Adds the gateway's options, RFC 9457 problem details, API-key authentication with the role policies and
    /// per-key rate limits, the access-event queue, the OpenAPI document, request limits, and a system
    /// <see cref="TimeProvider"/> unless one is registered. The host must register <c>IStateStore</c> and
    /// <c>IFaultInjector</c>; with <see cref="AuthModes.Keys"/> also <c>IDocumentStore</c> (the keys), and an
    /// <c>IEventBus</c> for service commands, the event stream and access events.
    /// </summary>
    public static IServiceCollection AddAutonomicGateway(this IServiceCollection services, GatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        // Registered before the framework's writer, which declines requests that do not accept JSON.
        services.AddSingleton<Microsoft.AspNetCore.Http.IProblemDetailsWriter, ProblemJsonWriter>();
        services.AddProblemDetails();
        services.AddExceptionHandler<GatewayExceptionHandler>();
        services.AddGatewayAuth(options);
        services.AddAccessEvents(options.AccessEventCapacity);
        services.Configure<KestrelServerOptions>(k =>
        {
            k.AddServerHeader = false;
            // The default for every endpoint; one that takes large uploads raises it with RequestSizeLimitAttribute metadata.
            k.Limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
            k.Limits.MaxRequestHeadersTotalSize = 32 * 1024;
            k.Limits.MaxRequestHeaderCount = 64;
            k.Limits.MaxRequestLineSize = 8 * 1024;
        });
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
            o.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower));
        });
        services.AddGatewayOpenApi();
        return services;
    }

    /// <summary>
    /// The gateway's middleware and every endpoint, in order: request id and security headers, errors as problem
    /// details, authentication, the per-key rate limit, authorization, the audit of changes, then the endpoints.
    /// </summary>
    public static WebApplication UseAutonomicGateway(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseMiddleware<RequestContextMiddleware>();
        app.UseExceptionHandler();
        // Blocked and over-limit clients are turned away before anything else is done for them (when the security
        // agent's responses are enforced in this process).
        if (app.Services.GetService<Autonomic.Core.Abstractions.IClientGate>() is not null)
        {
            app.UseClientGate();
        }

        app.UseStatusCodePages();
        app.UseAutonomicDashboard();
        app.UseRouting();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        app.UseMiddleware<AuditMiddleware>();
        app.MapAutonomicApi();
        return app;
    }
}
