using Autonomic.Gateway.Dashboard;
using Autonomic.Gateway.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Autonomic.Gateway;

/// <summary>Registers what the Autonomic HTTP API needs besides the store and fault injector the host provides.</summary>
public static class GatewayServiceCollectionExtensions
{
    /// <summary>
    /// Adds the gateway's options, RFC 9457 problem details and a system <see cref="TimeProvider"/> unless one is
    /// registered. The host must register <c>IStateStore</c> and <c>IFaultInjector</c>.
    /// </summary>
    public static IServiceCollection AddAutonomicGateway(this IServiceCollection services, GatewayOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(options);
        services.TryAddSingleton(TimeProvider.System);
        services.AddProblemDetails();
        services.AddExceptionHandler<GatewayExceptionHandler>();
        // Until API keys are configured every policy admits every caller; auth replaces these registrations.
        services.AddAuthorization(o =>
        {
            foreach (var policy in new[] { AuthPolicies.Viewer, AuthPolicies.Operator, AuthPolicies.Admin })
            {
                o.AddPolicy(policy, p => p.RequireAssertion(_ => true));
            }
        });
        return services;
    }

    /// <summary>The gateway's middleware (errors as problem details, authorization) and every endpoint, in order.</summary>
    public static WebApplication UseAutonomicGateway(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseExceptionHandler();
        // Blocked sources are turned away before anything else is done for them (when a blocklist is configured).
        if (app.Services.GetService<Autonomic.Core.Abstractions.IBlocklist>() is not null)
        {
            app.UseSecurityBlocklist();
        }

        app.UseStatusCodePages();
        app.UseAutonomicDashboard();
        app.UseAuthorization();
        app.MapAutonomicApi();
        return app;
    }
}
