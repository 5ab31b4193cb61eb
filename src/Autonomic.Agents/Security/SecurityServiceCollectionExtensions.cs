using Autonomic.Agents.Security.Rules;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Specs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Autonomic.Agents.Security;

/// <summary>Registration of the security agent and of the blocklist the gateway checks.</summary>
public static class SecurityServiceCollectionExtensions
{
    /// <summary>
    /// The security agent with its responder, rules and blocklist. The host provides IEventBus, IStateStore,
    /// IDocumentStore and TimeProvider. Rule files and the allowlist are read here, so a bad one fails at start-up.
    /// </summary>
    public static IServiceCollection AddSecurityAgent(this IServiceCollection services, SecuritySettings settings)
    {
        var options = SecurityOptions.From(settings);
        services.AddSingleton(options);
        services.AddSingleton(RulePack.Load(options.RuleDirectories));
        services.TryAddSingleton<Blocklist>();
        services.TryAddSingleton<IBlocklist>(sp => sp.GetRequiredService<Blocklist>());
        services.AddSingleton<SecurityResponder>();
        services.AddSingleton<SecurityAgent>();
        services.AddHostedService(sp => sp.GetRequiredService<SecurityAgent>());
        return services;
    }

    /// <summary>
    /// The blocklist alone, kept current from the store and the bus: for a process (the API) that does not run the
    /// security agent itself.
    /// </summary>
    public static IServiceCollection AddSecurityBlocklist(this IServiceCollection services)
    {
        services.TryAddSingleton<Blocklist>();
        services.TryAddSingleton<IBlocklist>(sp => sp.GetRequiredService<Blocklist>());
        services.TryAddSingleton(_ => RulePack.Default());
        services.AddHostedService<BlocklistSync>();
        return services;
    }
}
