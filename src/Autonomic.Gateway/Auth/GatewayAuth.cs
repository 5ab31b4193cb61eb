using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Net.Http.Headers;

namespace Autonomic.Gateway.Auth;

/// <summary>Authentication by API key, the role policies and the per-key rate limit.</summary>
internal static class GatewayAuth
{
    public static IServiceCollection AddGatewayAuth(this IServiceCollection services, GatewayOptions options)
    {
        if (options.Auth is not (AuthModes.Keys or AuthModes.None))
        {
            throw new ArgumentException($"auth must be '{AuthModes.Keys}' or '{AuthModes.None}', not '{options.Auth}'", nameof(options));
        }

        services.AddSingleton<ApiKeyStore>();
        services.AddHostedService<ApiKeyMaintenance>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        // Roles nest, so each policy admits its own role and every role above it.
        services.AddAuthorization(o =>
        {
            o.AddPolicy(AuthPolicies.Viewer, p => p.RequireAuthenticatedUser().RequireRole(ApiRoles.Viewer, ApiRoles.Operator, ApiRoles.Admin));
            o.AddPolicy(AuthPolicies.Operator, p => p.RequireAuthenticatedUser().RequireRole(ApiRoles.Operator, ApiRoles.Admin));
            o.AddPolicy(AuthPolicies.Admin, p => p.RequireAuthenticatedUser().RequireRole(ApiRoles.Admin));
        });
        services.AddRateLimiter(o =>
        {
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(static context =>
                context.Items[ApiKeyAuthenticationHandler.KeyItem] is ApiKeyRecord { RatePerSecond: > 0 } key
                    ? RateLimitPartition.GetTokenBucketLimiter(key.Id, _ => Bucket(key.RatePerSecond, key.Burst))
                    : RateLimitPartition.GetNoLimiter(""));
            o.OnRejected = static async (rejected, ct) =>
            {
                var context = rejected.HttpContext;
                var seconds = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after) ? Math.Max(1, (int)Math.Ceiling(after.TotalSeconds)) : 1;
                context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
                context.Response.Headers[HeaderNames.RetryAfter] = seconds.ToString(CultureInfo.InvariantCulture);
                var key = context.Items[ApiKeyAuthenticationHandler.KeyItem] as ApiKeyRecord;
                await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails =
                    {
                        Status = StatusCodes.Status429TooManyRequests,
                        Title = "too many requests",
                        Detail = $"key {key?.Id} may make {key?.RatePerSecond} requests per second (bursts of {key?.Burst}); retry after {seconds} s",
                    },
                });
            };
        });
        return services;
    }

    /// <summary>A token bucket that refills <paramref name="rate"/> tokens a second in small steps and holds <paramref name="burst"/>.</summary>
    internal static TokenBucketRateLimiterOptions Bucket(int rate, int burst)
    {
        var tokens = Math.Max(1, rate / 10);
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = Math.Max(1, burst),
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = TimeSpan.FromSeconds((double)tokens / rate),
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }
}
