using Autonomic.Agents.Security.Rules;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Specs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Autonomic.Agents.Security;

/// <summary>Registration of the security agent and of the responses the gateway and the load balancers enforce.</summary>
public static class SecurityServiceCollectionExtensions
{
    /// <summary>
    /// The security agent with its responder, rules and blocklist. The host provides IEventBus, IStateStore,
    /// IDocumentStore and TimeProvider. Rule files and the allowlist are read here, so a bad one fails at start-up.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="settings">The fleet file's <c>control_plane.security</c>.</param>
    /// <param name="logDirectory">Where the instances' own logs are (followed unless <c>service_logs: false</c>).</param>
    public static IServiceCollection AddSecurityAgent(this IServiceCollection services, SecuritySettings settings, string? logDirectory = null)
    {
        var options = SecurityOptions.From(settings);
        if (logDirectory is not null)
        {
            options = options with { LogDirectory = logDirectory };
        }

        services.AddSingleton(options);
        services.AddSingleton(RulePack.Load(options.RuleDirectories));
        AddEnforcement(services);
        services.AddSingleton<SecurityResponder>();
        services.AddSingleton<SecurityAgent>();
        services.AddHostedService(sp => sp.GetRequiredService<SecurityAgent>());
        return services;
    }

    /// <summary>
    /// What the security agent decided, enforced here and kept current from the store and the bus: for a process (the
    /// API, a load balancer) that does not run the security agent itself.
    /// </summary>
    public static IServiceCollection AddSecurityEnforcement(this IServiceCollection services)
    {
        AddEnforcement(services);
        services.TryAddSingleton(_ => RulePack.Default());
        services.AddHostedService<SecuritySync>();
        return services;
    }

    private static void AddEnforcement(IServiceCollection services)
    {
        services.TryAddSingleton<Blocklist>();
        services.TryAddSingleton<IBlocklist>(sp => sp.GetRequiredService<Blocklist>());
        services.TryAddSingleton<ClientRateLimits>();
        services.TryAddSingleton<QuarantineList>();
        services.TryAddSingleton<IQuarantine>(sp => sp.GetRequiredService<QuarantineList>());
        services.TryAddSingleton<SecurityEnforcement>();
        services.TryAddSingleton<ClientGate>();
        services.TryAddSingleton<IClientGate>(sp => sp.GetRequiredService<ClientGate>());
    }
}
