using Autonomic.Agents.Fleet;
using Autonomic.Agents.Security;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Specs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Autonomic.Traffic;

/// <summary>Registers the load balancers of a fleet in a control-plane process.</summary>
public static class TrafficServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="TrafficMetrics"/>, a <see cref="LoadBalancerHost"/> fed by the <see cref="InstanceRegistry"/>
    /// (started and stopped with the host) and <see cref="ILoadBalancerDrain"/>. The balancers enforce the process's
    /// <see cref="IClientGate"/> and <see cref="IQuarantine"/> when registered, and queue access events. Without a service that has a
    /// load balancer, only the no-op drain is registered.
    /// </summary>
    public static IServiceCollection AddAutonomicTraffic(this IServiceCollection services, FleetSpec fleet)
    {
        if (!fleet.Services.Any(s => s.LoadBalancer is not null))
        {
            services.TryAddSingleton<ILoadBalancerDrain>(NoLoadBalancerDrain.Instance);
            return services;
        }

        services.TryAddSingleton<TrafficMetrics>();
        services.AddAccessEvents();
        services.AddSingleton(sp => new LoadBalancerHost(
            new RegistryBackendSource(sp.GetRequiredService<InstanceRegistry>(), sp.GetService<IQuarantine>()),
            sp.GetRequiredService<TrafficMetrics>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<IEventBus>(),
            sp.GetService<ILoggerFactory>(),
            new LoadBalancerSecurity(sp.GetService<IClientGate>(), sp.GetRequiredService<AccessEventQueue>())));
        services.AddSingleton<ILoadBalancerDrain>(sp => sp.GetRequiredService<LoadBalancerHost>());
        services.AddHostedService(sp => new LoadBalancerHostedService(sp.GetRequiredService<LoadBalancerHost>(), fleet));
        return services;
    }

    private sealed class LoadBalancerHostedService(LoadBalancerHost host, FleetSpec fleet) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => host.StartAsync(fleet.Services, cancellationToken: cancellationToken);

        public async Task StopAsync(CancellationToken cancellationToken) => await host.DisposeAsync();
    }
}
