using System.Globalization;
using System.Net;
using System.Text.Json;
using Autonomic.Agents.Security;
using Autonomic.Agents.Security.Rules;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Autonomic.Gateway.Security;

/// <summary>A stored block as the API shows it: the record and whether it is in force now.</summary>
public sealed record BlockView(BlockRecord Block, bool InForce);

/// <summary>
/// The security API: <c>GET /security/alerts</c>, <c>GET</c> and <c>POST /security/blocks</c>, <c>DELETE /security/blocks/{ip}</c>,
/// rate limits and quarantines (<c>GET</c>, <c>DELETE /security/rate-limits/{ip}</c>, <c>POST /security/quarantines</c>,
/// <c>DELETE /security/quarantines/{instance}</c>), <c>GET /security/rules</c> and <c>GET /audit</c> (the actions trail).
/// </summary>
public static partial class SecurityEndpoints
{
    private const int MaxLimit = 1000;

    /// <summary>Maps the security endpoints on the <c>/api/v1</c> group.</summary>
    public static RouteGroupBuilder MapSecurityApi(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapGet("/security/alerts", ListAlertsAsync).RequireAuthorization(Gateway.AuthPolicies.Viewer);
        api.MapGet("/security/blocks", ListBlocksAsync).RequireAuthorization(Gateway.AuthPolicies.Viewer);
        api.MapPost("/security/blocks", BlockByHandAsync).RequireAuthorization(Gateway.AuthPolicies.Admin);
        api.MapDelete("/security/blocks/{ip}", UnblockAsync).RequireAuthorization(Gateway.AuthPolicies.Admin);
        api.MapGet("/security/rate-limits", (HttpContext http, TimeProvider time, string? all, string? limit, CancellationToken ct) =>
            ListResponsesAsync(http, time, "rate_limit", all, limit, ct)).RequireAuthorization(Gateway.AuthPolicies.Viewer);
        api.MapDelete("/security/rate-limits/{ip}", LiftRateLimitAsync).RequireAuthorization(Gateway.AuthPolicies.Admin);
        api.MapGet("/security/quarantines", (HttpContext http, TimeProvider time, string? all, string? limit, CancellationToken ct) =>
            ListResponsesAsync(http, time, "quarantine", all, limit, ct)).RequireAuthorization(Gateway.AuthPolicies.Viewer);
        api.MapPost("/security/quarantines", QuarantineAsync).RequireAuthorization(Gateway.AuthPolicies.Operator);
        api.MapDelete("/security/quarantines/{instance}", ReleaseAsync).RequireAuthorization(Gateway.AuthPolicies.Operator);
        api.MapGet("/security/rules", (HttpContext http) =>
            Json(http.RequestServices.GetService<RulePack>()?.Rules ?? RulePack.Default().Rules)).RequireAuthorization(Gateway.AuthPolicies.Viewer);
        api.MapGet("/audit", AuditAsync).RequireAuthorization(Gateway.AuthPolicies.Viewer);
        return api;
    }

    private static async Task<IResult> ListAlertsAsync(HttpContext http, string? limit, CancellationToken ct)
    {
        if (!TryLimit(limit, 50, out var n, out var bad))
        {
            return bad;
        }

        if (http.RequestServices.GetService<IDocumentStore>() is not { } docs)
        {
            return NoStore();
        }

        var alerts = (await docs.ListDocumentsAsync(SecurityCollections.Alerts, n, ct))
            .Select(d => JsonSerializer.Deserialize<SecurityAlert>(d.Json, JsonDefaults.Options))
            .OfType<SecurityAlert>()
            .OrderByDescending(a => a.Time)
            .ToList();
        return Json(alerts);
    }

    private static async Task<IResult> ListBlocksAsync(HttpContext http, TimeProvider time, string? all, string? limit, CancellationToken ct)
    {
        if (!TryListQuery(http, all, limit, out var n, out var docs, out var bad))
        {
            return bad;
        }

        var now = time.GetUtcNow();
        var blocks = (await docs.ListDocumentsAsync(SecurityCollections.Blocks, 100_000, ct))
            .Select(d => JsonSerializer.Deserialize<BlockRecord>(d.Json, JsonDefaults.Options))
            .OfType<BlockRecord>()
            .Select(b => new BlockView(b, b.Active && !b.DryRun && b.Until > now))
            .Where(v => all == "true" || (v.Block.Active && v.Block.Until > now))
            .OrderByDescending(v => v.Block.Since)
            .Take(n)
            .ToList();
        return Json(blocks);
    }

    private static async Task<IResult> UnblockAsync(HttpContext http, TimeProvider time, string ip, CancellationToken ct)
    {
        if (!IPAddress.TryParse(ip, out var address))
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid address", $"'{ip}' is not an IP address");
        }

        if (http.RequestServices.GetService<IDocumentStore>() is not { } docs ||
            http.RequestServices.GetService<IStateStore>() is not { } state ||
            http.RequestServices.GetService<IEventBus>() is not { } bus)
        {
            return NoStore();
        }

        var id = Blocklist.Normalize(address).ToString();
        var doc = await docs.GetDocumentAsync(SecurityCollections.Blocks, id, ct);
        var record = doc is null ? null : JsonSerializer.Deserialize<BlockRecord>(doc.Json, JsonDefaults.Options);
        if (doc is null || record is null || !record.Active || record.Until <= time.GetUtcNow())
        {
            return Problem(StatusCodes.Status404NotFound, "not blocked", $"{id} is not blocked");
        }

        var by = http.User.Identity?.Name is { Length: > 0 } name ? name : "api";
        if (!await SecurityResponder.LiftBlockAsync(docs, state, bus, http.RequestServices.GetService<Blocklist>(), record, doc.Version, "unblocked by an operator", by, time, ct))
        {
            return Problem(StatusCodes.Status409Conflict, "changed meanwhile", $"the block of {id} changed while it was being lifted; try again");
        }

        var lifted = await docs.GetDocumentAsync(SecurityCollections.Blocks, id, ct);
        return Json(JsonSerializer.Deserialize<BlockRecord>(lifted!.Json, JsonDefaults.Options)!);
    }

    private static async Task<IResult> AuditAsync(IStateStore store, TimeProvider time, string? agent, string? kind, string? since, string? limit, CancellationToken ct)
    {
        if (!TryLimit(limit, 100, out var n, out var bad))
        {
            return bad;
        }

        DateTimeOffset? from = null;
        if (since is { Length: > 0 })
        {
            if (DateTimeOffset.TryParse(since, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                from = at;
            }
            else if (RulePack.TryDuration(since, out var ago))
            {
                from = time.GetUtcNow() - ago;
            }
            else
            {
                return Problem(StatusCodes.Status400BadRequest, "invalid since", $"since must be a time (2026-01-01T00:00:00Z) or a duration (30m, 2h, 1d), not '{since}'");
            }
        }

        var actions = (await store.ListActionsAsync(10_000, null, ct))
            .Where(a => string.IsNullOrEmpty(agent) || a.Agent == agent)
            .Where(a => string.IsNullOrEmpty(kind) || a.Kind == kind)
            .Where(a => from is null || a.CreatedAt >= from)
            .Take(n)
            .ToList();
        return Json(actions);
    }

    /// <summary>The query of a list of responses: <c>limit</c> (default 100), <c>all</c> (true|false), and the store to read.</summary>
    private static bool TryListQuery(HttpContext http, string? all, string? limit, out int n, out IDocumentStore docs, out IResult problem)
    {
        docs = null!;
        if (!TryLimit(limit, 100, out n, out problem))
        {
            return false;
        }

        if (all is not null and not "true" and not "false")
        {
            problem = Problem(StatusCodes.Status400BadRequest, "invalid all", $"all must be true or false, not '{all}'");
            return false;
        }

        if (http.RequestServices.GetService<IDocumentStore>() is not { } store)
        {
            problem = NoStore();
            return false;
        }

        docs = store;
        return true;
    }

    private static bool TryLimit(string? raw, int fallback, out int value, out IResult problem)
    {
        problem = Results.Empty;
        value = fallback;
        if (raw is null)
        {
            return true;
        }

        if (int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value is >= 1 and <= MaxLimit)
        {
            return true;
        }

        problem = Problem(StatusCodes.Status400BadRequest, "invalid limit", $"limit must be an integer from 1 to {MaxLimit}, not '{raw}'");
        return false;
    }

    private static IResult NoStore() =>
        Problem(StatusCodes.Status503ServiceUnavailable, "security store unavailable", "this API process has no document store or bus for security data");

    private static IResult Json(object value) => Results.Json(value, JsonDefaults.Options);

    private static IResult Problem(int status, string title, string detail) => Results.Problem(detail: detail, statusCode: status, title: title);
}
