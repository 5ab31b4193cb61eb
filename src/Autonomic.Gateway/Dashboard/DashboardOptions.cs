using Microsoft.Extensions.DependencyInjection;

namespace Autonomic.Gateway.Dashboard;

/// <summary>How the gateway serves the web dashboard and describes itself at <c>GET /api/v1/info</c>.</summary>
public sealed class DashboardOptions
{
    /// <summary>
    /// The built dashboard (<c>index.html</c> and <c>assets/</c>): by default <c>wwwroot</c> beside the executable,
    /// where <c>make build</c> copies it, so it is found whatever the working directory.
    /// </summary>
    public string WebRoot { get; set; } = Path.Combine(AppContext.BaseDirectory, "wwwroot");

    /// <summary>The control plane runs the demo fleet: the dashboard offers its chaos panel.</summary>
    public bool Demo { get; set; }
}

/// <summary>Registers the dashboard's options.</summary>
public static class DashboardServiceCollectionExtensions
{
    /// <summary>Adds <paramref name="options"/>; without this call the defaults apply (web root beside the executable, not demo).</summary>
    public static IServiceCollection AddAutonomicDashboard(this IServiceCollection services, DashboardOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        services.AddSingleton(options);
        return services;
    }
}
