using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Autonomic.Gateway.Dashboard;

/// <summary>The body of <c>GET /api/v1/info</c>: the version, whether this is the demo, and whether API keys are required.</summary>
public sealed record ServerInfo(string Version, bool Demo, string Auth);

/// <summary>
/// <c>GET /api/v1/info</c>, anonymous: what a client needs before it signs in (the dashboard asks for a key only when
/// <c>auth</c> is <c>keys</c>, and shows its chaos panel only in the demo). It reveals no secret and no fleet data.
/// </summary>
public static class InfoEndpoint
{
    private static readonly string Version =
        typeof(InfoEndpoint).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(InfoEndpoint).Assembly.GetName().Version?.ToString()
        ?? "0.0.0";

    /// <summary>Maps <c>GET /info</c> on the API group.</summary>
    public static RouteGroupBuilder MapInfoApi(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapGet("/info", GetInfoAsync).AllowAnonymous();
        return api;
    }

    private static IResult GetInfoAsync(HttpContext context)
    {
        var options = context.RequestServices.GetService<DashboardOptions>();
        // The gateway's own setting says whether requests need a key.
        var auth = context.RequestServices.GetService<GatewayOptions>()?.Auth ?? AuthModes.Keys;
        return Results.Json(new ServerInfo(Version, options?.Demo ?? false, auth == AuthModes.None ? "none" : "keys"), Core.Model.JsonDefaults.Options);
    }
}
