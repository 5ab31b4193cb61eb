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
        return services;
    }
}
