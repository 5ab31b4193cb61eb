using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Autonomic.Gateway.Auth;

/// <summary>
/// Authenticates a request by its API key, from <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c>. No key
/// means no result (anonymous endpoints still work); a wrong, unknown or revoked key fails. A challenge is a 401
/// problem document with <c>WWW-Authenticate</c>, a forbidden request a 403 one naming the role needed.
/// In <see cref="AuthModes.None"/> mode every request is an admin called <c>anonymous</c>.
/// </summary>
internal sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> schemeOptions,
    ILoggerFactory logs,
    UrlEncoder encoder,
    ApiKeyStore keys,
    GatewayOptions options,
    IProblemDetailsService problems)
    : AuthenticationHandler<AuthenticationSchemeOptions>(schemeOptions, logs, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string ApiKeyHeader = "X-Api-Key";
    /// <summary>HttpContext item holding the authenticated <see cref="ApiKeyRecord"/>.</summary>
    public const string KeyItem = "autonomic.key";
    private const string FailureItem = "autonomic.auth-failure";

    private static readonly ApiKeyRecord Anonymous = new() { Id = "anonymous", Name = "anonymous", Role = ApiRoles.Admin, SecretHash = "", RatePerSecond = 0 };

    private static readonly AuthenticationTicket AnonymousTicket = new(
        new ClaimsPrincipal(new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, Anonymous.Id), new Claim(ClaimTypes.Name, Anonymous.Name), new Claim(ClaimTypes.Role, ApiRoles.Admin)],
            SchemeName, ClaimTypes.Name, ClaimTypes.Role)),
        SchemeName);

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (options.Auth == AuthModes.None)
        {
            Context.Items[KeyItem] = Anonymous;
            return AuthenticateResult.Success(AnonymousTicket);
        }

        var presented = Presented(Request);
        if (presented is null)
        {
            return AuthenticateResult.NoResult();
        }

        var entry = await keys.VerifyAsync(presented, Context.RequestAborted);
        if (entry is null)
        {
            Context.Items[FailureItem] = true;
            return AuthenticateResult.Fail("invalid API key");
        }

        Context.Items[KeyItem] = entry.Record;
        return AuthenticateResult.Success(entry.Ticket!);
    }

    /// <summary>The key a request carries, or null.</summary>
    internal static string? Presented(HttpRequest request)
    {
        var authorization = request.Headers.Authorization;
        if (authorization.Count == 1 && authorization[0] is { } value && value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return value[7..].Trim();
        }

        var header = request.Headers[ApiKeyHeader];
        return header.Count == 1 && !string.IsNullOrWhiteSpace(header[0]) ? header[0]!.Trim() : null;
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var invalid = Context.Items.ContainsKey(FailureItem);
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers[HeaderNames.WWWAuthenticate] = invalid
            ? "Bearer realm=\"autonomic\", error=\"invalid_token\", error_description=\"the API key is unknown, wrong or revoked\""
            : "Bearer realm=\"autonomic\"";
        await WriteProblemAsync(StatusCodes.Status401Unauthorized, "unauthorized", invalid
            ? "the API key is unknown, wrong or revoked"
            : "an API key is required: send 'Authorization: Bearer ak_...' or 'X-Api-Key: ak_...'");
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status403Forbidden;
        var role = Context.User.FindFirstValue(ClaimTypes.Role) ?? "none";
        var needed = Context.GetEndpoint()?.Metadata.GetMetadata<Microsoft.AspNetCore.Authorization.IAuthorizeData>()?.Policy ?? "a higher role";
        await WriteProblemAsync(StatusCodes.Status403Forbidden, "forbidden", $"this key's role is {role}; this call needs {needed}");
    }

    private async Task WriteProblemAsync(int status, string title, string detail) =>
        await problems.WriteAsync(new ProblemDetailsContext { HttpContext = Context, ProblemDetails = { Status = status, Title = title, Detail = detail } });
}
