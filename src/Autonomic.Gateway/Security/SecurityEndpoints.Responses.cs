using System.Net;
using System.Text.Json;
using Autonomic.Agents.Security;
using Autonomic.Agents.Security.Rules;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Security;
using Autonomic.Gateway.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Autonomic.Gateway.Security;

/// <summary>A stored rate limit or quarantine as the API shows it: the record and whether it is in force now.</summary>
public sealed record ResponseView(ResponseRecord Response, bool InForce);

/// <summary>The body of <c>POST /api/v1/security/quarantines</c>: the instance, for how long (<c>30m</c>, <c>2h</c>), and why.</summary>
public sealed record QuarantineRequest(string? Instance, string? For = null, string? Reason = null);

/// <summary>The body of <c>POST /api/v1/security/blocks</c>: the address, for how long (<c>30m</c>, <c>2h</c>), and why.</summary>
public sealed record BlockRequest(string? Ip, string? For = null, string? Reason = null);

public static partial class SecurityEndpoints
{
    private const int MaxInstanceId = 128;
    private static readonly TimeSpan MaxManual = TimeSpan.FromDays(30);

    private static async Task<IResult> ListResponsesAsync(HttpContext http, TimeProvider time, string kind, string? all, string? limit, CancellationToken ct)
    {
        if (!TryListQuery(http, all, limit, out var n, out var docs, out var bad))
        {
            return bad;
        }

        var now = time.GetUtcNow();
        var views = (await SecurityEnforcement.ListAsync(docs, SecurityEnforcement.CollectionOf(kind), ct))
            .Select(r => new ResponseView(r.Record, r.Record.InForce(now)))
            .Where(v => all == "true" || (v.Response.Active && v.Response.Until > now))
            .OrderByDescending(v => v.Response.Since)
            .Take(n)
            .ToList();
        return Json(views);
    }

    private static Task<IResult> LiftRateLimitAsync(HttpContext http, TimeProvider time, string ip, CancellationToken ct) =>
        IPAddress.TryParse(ip, out var address)
            ? LiftAsync(http, time, "rate_limit", Blocklist.Normalize(address).ToString(), "rate limit lifted by an operator", ct)
            : Task.FromResult(Problem(StatusCodes.Status400BadRequest, "invalid address", $"'{ip}' is not an IP address"));

    private static Task<IResult> ReleaseAsync(HttpContext http, TimeProvider time, string instance, CancellationToken ct) =>
        instance.Length <= MaxInstanceId
            ? LiftAsync(http, time, "quarantine", instance, "released from quarantine by an operator", ct)
            : Task.FromResult(Problem(StatusCodes.Status400BadRequest, "invalid instance", $"an instance id has at most {MaxInstanceId} characters"));

    private static async Task<IResult> LiftAsync(HttpContext http, TimeProvider time, string kind, string target, string reason, CancellationToken ct)
    {
        if (Services(http) is not var (docs, state, bus))
        {
            return NoStore();
        }

        var collection = SecurityEnforcement.CollectionOf(kind);
        var doc = await docs.GetDocumentAsync(collection, target, ct);
        var record = doc is null ? null : JsonSerializer.Deserialize<ResponseRecord>(doc.Json, JsonDefaults.Options);
        if (doc is null || record is null || !record.Active || record.Until <= time.GetUtcNow())
        {
            return Problem(StatusCodes.Status404NotFound, kind == "quarantine" ? "not quarantined" : "not rate-limited", $"{target} is not {(kind == "quarantine" ? "quarantined" : "rate-limited")}");
        }

        if (!await SecurityResponder.LiftResponseAsync(docs, state, bus, http.RequestServices.GetService<SecurityEnforcement>(), record, doc.Version, reason, By(http), time, ct))
        {
            return Problem(StatusCodes.Status409Conflict, "changed meanwhile", $"the {kind.Replace('_', ' ')} of {target} changed while it was being lifted; try again");
        }

        var lifted = await docs.GetDocumentAsync(collection, target, ct);
        return Json(JsonSerializer.Deserialize<ResponseRecord>(lifted!.Json, JsonDefaults.Options)!);
    }

    /// <summary>
    /// An operator quarantines an instance by hand: out of the load balancer, kept running, for a while (201). One in
    /// force that lasts at least as long is left as it is (200 with it).
    /// </summary>
    private static async Task<IResult> QuarantineAsync(HttpContext http, TimeProvider time, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync<QuarantineRequest>(http.Request, ct);
        if (body is null)
        {
            return problem!;
        }

        var errors = new List<(string, string)>();
        if (body.Instance is not { Length: > 0 and <= MaxInstanceId })
        {
            errors.Add(("instance", "the id of an instance, e.g. web-0"));
        }

        var duration = CheckManual(body.For, body.Reason, errors);
        if (errors.Count > 0)
        {
            return Problems.Invalid("invalid quarantine request", errors);
        }

        if (Services(http) is not var (docs, state, bus))
        {
            return NoStore();
        }

        var instances = await state.ListInstancesAsync(ct);
        if (!instances.Any(i => i.Id == body.Instance))
        {
            return Problem(StatusCodes.Status404NotFound, "no such instance", $"there is no instance '{body.Instance}'");
        }

        var now = time.GetUtcNow();
        // A quarantine in force is only ever extended here, never shortened: the longer one stands (200).
        if (await docs.GetDocumentAsync(SecurityCollections.Quarantines, body.Instance!, ct) is { } current &&
            JsonSerializer.Deserialize<ResponseRecord>(current.Json, JsonDefaults.Options) is { } held &&
            held.InForce(now) && held.Until >= now + duration)
        {
            return Json(held);
        }

        var by = By(http);
        var reason = body.Reason is { Length: > 0 } r ? r : "quarantined by an operator";
        var record = new ResponseRecord
        {
            Kind = "quarantine",
            Target = body.Instance!,
            Reason = reason,
            Rule = "security.manual",
            Since = now,
            Until = now + duration,
            By = by,
        };
        var action = SecurityResponder.Audit(state, time).New("quarantine", record.Target, "security.manual", reason, new Dictionary<string, string> { ["by"] = by }, now);
        await SecurityResponder.PutResponseAsync(docs, state, bus, http.RequestServices.GetService<SecurityEnforcement>(), record, action, time, ct);
        return Results.Json(record, JsonDefaults.Options, statusCode: StatusCodes.Status201Created);
    }

    /// <summary>
    /// An operator blocks an address by hand, for a while (201), as fail2ban's <c>banip</c>. An allowlisted address is
    /// refused (409) where this process knows the allowlist; a block in force that lasts at least as long is left as
    /// it is (200 with it).
    /// </summary>
    private static async Task<IResult> BlockByHandAsync(HttpContext http, TimeProvider time, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync<BlockRequest>(http.Request, ct);
        if (body is null)
        {
            return problem!;
        }

        var errors = new List<(string, string)>();
        IPAddress? address = null;
        if (body.Ip is null || !IPAddress.TryParse(body.Ip, out address))
        {
            errors.Add(("ip", "an IPv4 or IPv6 address, e.g. 203.0.113.7"));
        }

        var duration = CheckManual(body.For, body.Reason, errors);
        if (errors.Count > 0)
        {
            return Problems.Invalid("invalid block request", errors);
        }

        var ip = Blocklist.Normalize(address!).ToString();
        if (http.RequestServices.GetService<SecurityOptions>() is { } options && options.IsAllowlisted(ip))
        {
            return Problem(StatusCodes.Status409Conflict, "allowlisted", $"{ip} is in the security allowlist and is never blocked");
        }

        if (Services(http) is not var (docs, state, bus))
        {
            return NoStore();
        }

        var now = time.GetUtcNow();
        var current = await docs.GetDocumentAsync(SecurityCollections.Blocks, ip, ct);
        var earlier = current is null ? null : JsonSerializer.Deserialize<BlockRecord>(current.Json, JsonDefaults.Options);
        if (earlier is { Active: true, DryRun: false } held && held.Until >= now + duration)
        {
            return Json(held);
        }

        var by = By(http);
        var reason = body.Reason is { Length: > 0 } r ? r : "blocked by an operator";
        var record = new BlockRecord
        {
            Ip = ip,
            Reason = reason,
            Rule = "security.manual",
            Since = now,
            Until = now + duration,
            Count = (earlier?.Count ?? 0) + 1,
        };
        var action = SecurityResponder.Audit(state, time).New("block", ip, "security.manual", reason, new Dictionary<string, string> { ["by"] = by }, now);
        await SecurityResponder.PutBlockAsync(docs, state, bus, http.RequestServices.GetService<Blocklist>(), record, action, null, time, ct);
        return Results.Json(record, JsonDefaults.Options, statusCode: StatusCodes.Status201Created);
    }

    /// <summary>The <c>for</c> (default 1h, 1s to 30d) and <c>reason</c> (at most 500 characters) of a response taken by hand.</summary>
    private static TimeSpan CheckManual(string? forText, string? reason, List<(string, string)> errors)
    {
        var duration = TimeSpan.FromHours(1);
        if (forText is not null && (!RulePack.TryDuration(forText, out duration) || duration <= TimeSpan.Zero || duration > MaxManual))
        {
            errors.Add(("for", $"a duration from 1s to 30d, e.g. 30m or 2h, not '{forText}'"));
        }

        if (reason is { Length: > 500 })
        {
            errors.Add(("reason", "at most 500 characters"));
        }

        return duration;
    }

    private static (IDocumentStore Docs, IStateStore State, IEventBus Bus)? Services(HttpContext http) =>
        http.RequestServices.GetService<IDocumentStore>() is { } docs &&
        http.RequestServices.GetService<IStateStore>() is { } state &&
        http.RequestServices.GetService<IEventBus>() is { } bus
            ? (docs, state, bus)
            : null;

    private static string By(HttpContext http) => http.User.Identity?.Name is { Length: > 0 } name ? name : "api";
}
