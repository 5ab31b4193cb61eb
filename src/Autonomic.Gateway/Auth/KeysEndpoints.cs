using Autonomic.Gateway.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace Autonomic.Gateway.Auth;

/// <summary><c>/api/v1/keys</c>: create, list and revoke API keys (admin only), and <c>/api/v1/whoami</c> for any key.</summary>
public static partial class KeysEndpoints
{
    public const int MaxRate = 1_000_000;

    public static RouteGroupBuilder MapKeysApi(this RouteGroupBuilder api)
    {
        var keys = api.MapGroup("/keys").WithTags("keys").RequireAuthorization(AuthPolicies.Admin);
        keys.MapGet("/", ListAsync)
            .WithName("listKeys").WithSummary("Every API key (never the secrets)")
            .Produces<IReadOnlyList<ApiKeyView>>().ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        keys.MapPost("/", CreateAsync)
            .WithName("createKey").WithSummary("Create an API key; the answer shows the key once")
            .Accepts<CreateKeyRequest>("application/json")
            .Produces<CreatedApiKey>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        keys.MapDelete("/{id}", RevokeAsync)
            .WithName("revokeKey").WithSummary("Revoke an API key; it stops working at once")
            .Produces<ApiKeyView>()
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/whoami", (HttpContext context) => context.Items[ApiKeyAuthenticationHandler.KeyItem] is ApiKeyRecord key
                ? Results.Json(ApiKeyView.Of(key), Core.Model.JsonDefaults.Options)
                : Problems.Status(StatusCodes.Status401Unauthorized, "unauthorized", "no API key"))
            .RequireAuthorization(AuthPolicies.Viewer).WithTags("keys")
            .WithName("whoami").WithSummary("The calling key: id, name, role and rate limit")
            .Produces<ApiKeyView>();
        return api;
    }

    private static async Task<IResult> ListAsync(ApiKeyStore keys, ILoggerFactory logs, CancellationToken ct) => await GuardedAsync(logs, async () =>
        Results.Json((await keys.ListAsync(ct)).Select(ApiKeyView.Of).ToList(), Core.Model.JsonDefaults.Options));

    private static async Task<IResult> CreateAsync(HttpContext context, ApiKeyStore keys, ILoggerFactory logs, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync<CreateKeyRequest>(context.Request, ct);
        if (body is null)
        {
            return problem!;
        }

        var errors = new List<(string, string)>();
        if (body.Name is null || !ApiKeyFormat.Name().IsMatch(body.Name))
        {
            errors.Add(("name", "1 to 64 letters, digits, spaces and '._-@'"));
        }

        if (body.Role is null || ApiRoles.Rank(body.Role) == 0)
        {
            errors.Add(("role", $"one of {string.Join(", ", ApiRoles.All)}"));
        }

        if (body.Rate is < 0 or > MaxRate)
        {
            errors.Add(("rate", $"requests per second from 0 (no limit) to {MaxRate}"));
        }

        if (body.Burst is < 1 or > MaxRate)
        {
            errors.Add(("burst", $"from 1 to {MaxRate}"));
        }

        if (errors.Count > 0)
        {
            return Problems.Invalid("invalid key request", errors);
        }

        var creator = context.Items[ApiKeyAuthenticationHandler.KeyItem] is ApiKeyRecord me ? me.Id : "anonymous";
        return await GuardedAsync(logs, async () =>
        {
            var created = await keys.CreateAsync(body.Name!, body.Role!, body.Rate, body.Burst, creator, ct);
            return Results.Json(created, Core.Model.JsonDefaults.Options, statusCode: StatusCodes.Status201Created);
        });
    }

    private static async Task<IResult> RevokeAsync(string id, ApiKeyStore keys, ILoggerFactory logs, CancellationToken ct) => await GuardedAsync(logs, async () =>
    {
        if (id.Length is 0 or > 32 || !id.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c)))
        {
            return Problems.Status(StatusCodes.Status404NotFound, "key not found", $"no API key has id '{id}'");
        }

        return Results.Json(ApiKeyView.Of(await keys.RevokeAsync(id, ct)), Core.Model.JsonDefaults.Options);
    });

    private static async Task<IResult> GuardedAsync(ILoggerFactory logs, Func<Task<IResult>> handler)
    {
        try
        {
            return await handler();
        }
        catch (ApiKeyException e)
        {
            return Problems.Status(e.Status, e.Title, e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFailed(logs.CreateLogger("Autonomic.Gateway.Keys"), e);
            return Problems.Status(StatusCodes.Status503ServiceUnavailable, "key store unavailable", "the key store failed; see the control plane log");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "An API key request failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
