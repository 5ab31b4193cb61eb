using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Autonomic.Agents.Telemetry;
using Autonomic.Core.Abstractions;
using Autonomic.Gateway.Alerts;
using Autonomic.Core.Model;
using Autonomic.Gateway.Dashboard;
using Autonomic.Gateway.Auth;
using Autonomic.Gateway.Events;
using Autonomic.Gateway.Http;
using Autonomic.Gateway.Services;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Autonomic.Gateway;

/// <summary>
/// Maps the Autonomic HTTP API (<c>/healthz</c> and <c>/api/v1/...</c>). Bodies use <see cref="JsonDefaults.Options"/>;
/// every error is an RFC 9457 problem document: 400 for a bad value, 404 for an unknown id, 503 when the store fails.
/// </summary>
public static partial class GatewayEndpoints
{
    private const int MaxLimit = 1000;
    private const int MaxLines = 10_000;
    // Upper bound used where the API counts or scans "all" incidents or actions.
    private const int ScanLimit = 10_000;

    /// <summary>Maps every endpoint; call after <see cref="GatewayServiceCollectionExtensions.AddAutonomicGateway"/>.</summary>
    public static IEndpointRouteBuilder MapAutonomicApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/healthz", () => Results.Text("ok", "text/plain")).AllowAnonymous()
            .WithName("healthz").WithSummary("Liveness of the control plane: 'ok'").WithTags("health").Produces<string>(contentType: "text/plain");
        endpoints.MapGet("/metrics", (IStateStore store, IServiceProvider services, ILoggerFactory logs, CancellationToken ct) =>
            Guarded(logs, async () => Results.Text(await MetricsEndpoint.RenderAsync(store, services.GetService<FleetMetrics>(), ct), MetricsEndpoint.ContentType))).AllowAnonymous()
            .WithName("metrics").WithSummary("The fleet as Prometheus metrics (text format 0.0.4)").WithTags("health")
            .Produces<string>(contentType: "text/plain").ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        endpoints.MapGatewayOpenApi();

        // Every /api/v1 endpoint needs at least a viewer key; an endpoint asks for more with its own policy.
        var api = endpoints.MapGroup("/api/v1").RequireAuthorization(AuthPolicies.Viewer);
        api.MapGet("/status", GetStatusAsync).WithTags("fleet")
            .WithName("getStatus").WithSummary("Every service with its instances, and the open incident count")
            .Produces<StatusView>().ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/instances", ListInstancesAsync).WithTags("fleet")
            .WithName("listInstances").WithSummary("Every instance the control plane knows; quarantined ones say so")
            .Produces<IReadOnlyList<InstanceRecord>>().ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/incidents", ListIncidentsAsync).WithTags("incidents")
            .WithName("listIncidents").WithSummary("Incidents, newest first (limit 1-1000, default 50)")
            .Produces<IReadOnlyList<Incident>>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/incidents/{id}", GetIncidentAsync).WithTags("incidents")
            .WithName("getIncident").WithSummary("One incident with its actions")
            .Produces<Incident>().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/actions", ListActionsAsync).WithTags("incidents")
            .WithName("listActions").WithSummary("Agent actions, newest first, optionally of one incident")
            .Produces<IReadOnlyList<AgentAction>>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/events", ListEventsAsync).WithTags("events")
            .WithName("listEvents").WithSummary("The newest events of the event log, oldest first, optionally of one subject")
            .Produces<IReadOnlyList<CloudEvent>>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapGet("/logs/{target}", GetLogsAsync).WithTags("fleet")
            .WithName("getLogs").WithSummary("The last lines of an instance's log, or of every instance of a service")
            .Produces<string>(contentType: "text/plain").ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapPost("/chaos", PostChaosAsync).RequireAuthorization(AuthPolicies.Operator).WithTags("chaos")
            .WithName("injectFault").WithSummary("Inject a fault (kill, hang, leak, cpu) into an instance")
            .Accepts<ChaosRequest>("application/json").Produces<FaultResult>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        api.MapServicesApi();
        api.MapKeysApi();
        api.MapEventStream();
        api.MapAlertmanagerApi();
        api.MapInfoApi();
        Functions.FunctionsEndpoints.MapFunctionsApi(api);
        Scaling.ScalingEndpoints.MapScalingApi(api);
        Objects.ObjectsEndpoints.MapObjectsApi(api);
        api.MapTasksApi();
        Security.SecurityEndpoints.MapSecurityApi(api);
        return endpoints;
    }

    // Instances come from the live view when it is complete (InstanceViews), else from the store.
    private static Task<IResult> ListInstancesAsync(HttpContext http, IStateStore store, ILoggerFactory logs, CancellationToken ct) => Guarded(logs, async () =>
    {
        var instances = await InstanceViews.ListAsync(http.RequestServices, store, ct);
        return Json(InstanceViews.WithQuarantines(instances, instances, http.RequestServices.GetService<IQuarantine>(), node => [node.AsArray()]));
    });

    private static Task<IResult> GetStatusAsync(HttpContext http, IStateStore store, ILoggerFactory logs, CancellationToken ct) => Guarded(logs, async () =>
    {
        var specs = await store.ListServicesAsync(ct);
        var instances = await InstanceViews.ListAsync(http.RequestServices, store, ct);
        var incidents = await store.ListIncidentsAsync(ScanLimit, ct);
        var replicas = specs.ToDictionary(s => s.Name, s => s.Replicas, StringComparer.Ordinal);
        // A service with instances but no spec (e.g. removed from the fleet file while still running) is still shown.
        var names = replicas.Keys.Concat(instances.Select(i => i.Service)).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        var services = names.Select(name =>
        {
            var mine = instances.Where(i => i.Service == name).OrderBy(i => i.Index).ThenBy(i => i.Id, StringComparer.Ordinal).ToList();
            return new ServiceStatus(name, replicas.GetValueOrDefault(name), mine.Count(i => i.State == InstanceState.Ready), mine);
        }).ToList();
        var open = incidents.Count(i => i.Status is IncidentStatus.Open or IncidentStatus.Escalated);
        return Json(InstanceViews.WithQuarantines(new StatusView(services, open), instances, http.RequestServices.GetService<IQuarantine>(),
            node => node["services"]!.AsArray().Select(s => s!["instances"]!.AsArray())));
    });

    private static Task<IResult> ListIncidentsAsync(IStateStore store, ILoggerFactory logs, string? limit, CancellationToken ct) => Guarded(logs, async () =>
    {
        if (!TryParseRange(limit, "limit", 50, 1, MaxLimit, out var n, out var bad))
        {
            return bad;
        }

        var incidents = await store.ListIncidentsAsync(n, ct);
        return Json(incidents.Select(i => IncidentNode(i, null)).ToList());
    });

    private static Task<IResult> GetIncidentAsync(IStateStore store, ILoggerFactory logs, string id, CancellationToken ct) => Guarded(logs, async () =>
    {
        var incident = await store.GetIncidentAsync(id, ct);
        if (incident is null)
        {
            return Problem(StatusCodes.Status404NotFound, "incident not found", $"no incident has id '{id}'");
        }

        var actions = await store.ListActionsAsync(ScanLimit, id, ct);
        return Json(IncidentNode(incident, actions));
    });

    private static Task<IResult> ListActionsAsync(IStateStore store, ILoggerFactory logs, string? limit, string? incident, CancellationToken ct) => Guarded(logs, async () =>
    {
        if (!TryParseRange(limit, "limit", 50, 1, MaxLimit, out var n, out var bad))
        {
            return bad;
        }

        return Json(await store.ListActionsAsync(n, string.IsNullOrEmpty(incident) ? null : incident, ct));
    });

    private static Task<IResult> ListEventsAsync(IStateStore store, ILoggerFactory logs, string? limit, string? subject, CancellationToken ct) => Guarded(logs, async () =>
    {
        if (!TryParseRange(limit, "limit", 100, 1, MaxLimit, out var n, out var bad))
        {
            return bad;
        }

        return Json(await store.ListEventsAsync(n, string.IsNullOrEmpty(subject) ? null : subject, ct));
    });

    private static Task<IResult> GetLogsAsync(IStateStore store, GatewayOptions options, ILoggerFactory logs, string target, string? lines, CancellationToken ct) => Guarded(logs, async () =>
    {
        // The target becomes part of a file path: only plain names, so '..', '/' and the like never reach the file system.
        if (!TargetName().IsMatch(target))
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid target", "a log target is an instance id or a service name: lowercase letters, digits and '-'");
        }

        if (!TryParseRange(lines, "lines", 100, 1, MaxLines, out var n, out var bad))
        {
            return bad;
        }

        var instances = await store.ListInstancesAsync(ct);
        var services = await store.ListServicesAsync(ct);
        var text = new StringBuilder();
        if (instances.Any(i => i.Id == target) || File.Exists(LogPath(options, target)))
        {
            foreach (var line in await LogTail.ReadLastLinesAsync(LogPath(options, target), n, ct))
            {
                text.Append(line).Append('\n');
            }
        }
        else if (services.Any(s => s.Name == target) || instances.Any(i => i.Service == target))
        {
            foreach (var instance in instances.Where(i => i.Service == target).OrderBy(i => i.Index).ThenBy(i => i.Id, StringComparer.Ordinal))
            {
                foreach (var line in await LogTail.ReadLastLinesAsync(LogPath(options, instance.Id), n, ct))
                {
                    text.Append(instance.Id).Append(" | ").Append(line).Append('\n');
                }
            }
        }
        else
        {
            return Problem(StatusCodes.Status404NotFound, "unknown target", $"no instance or service is named '{target}'");
        }

        return Results.Text(text.ToString(), "text/plain", Encoding.UTF8);
    });

    private static async Task<IResult> PostChaosAsync(HttpRequest request, IFaultInjector injector, ILoggerFactory logs, CancellationToken ct)
    {
        ChaosRequest? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync<ChaosRequest>(request.Body, JsonDefaults.Options, ct);
        }
        catch (JsonException e)
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid body", $"expected JSON {{\"fault\":\"...\",\"target\":\"...\"}}: {e.Message}");
        }

        if (body?.Fault is not { } fault || !Faults.All.Contains(fault))
        {
            return Problem(StatusCodes.Status400BadRequest, "unknown fault", $"fault must be one of {string.Join(", ", Faults.All)}");
        }

        if (body.Target is not { } target || !ChaosTarget().IsMatch(target))
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid target", "target must be SERVICE, SERVICE/INDEX or an instance id");
        }

        try
        {
            var result = await injector.InjectAsync(fault, target, ct);
            return Results.Json(result, JsonDefaults.Options, statusCode: StatusCodes.Status202Accepted);
        }
        catch (ArgumentException e)
        {
            // The fault was checked above, so a complaint about anything but the fault is about the target.
            return e.ParamName == "fault"
                ? Problem(StatusCodes.Status400BadRequest, "unknown fault", e.Message)
                : Problem(StatusCodes.Status404NotFound, "unknown target", e.Message);
        }
        catch (InvalidOperationException e)
        {
            return Problem(StatusCodes.Status409Conflict, "fault not injected", e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogChaosFailed(Logger(logs), fault, target, e);
            return Problem(StatusCodes.Status503ServiceUnavailable, "fault not injected", "the fault injector failed; see the control plane log");
        }
    }

    /// <summary>Runs a store-backed handler; a store failure becomes 503 instead of an unhandled 500.</summary>
    private static async Task<IResult> Guarded(ILoggerFactory logs, Func<Task<IResult>> handler)
    {
        try
        {
            return await handler();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogStoreFailed(Logger(logs), e);
            return Problem(StatusCodes.Status503ServiceUnavailable, "state store unavailable", "the state store could not be read; see the control plane log");
        }
    }

    private static JsonObject IncidentNode(Incident incident, IReadOnlyList<AgentAction>? actions)
    {
        var node = JsonSerializer.SerializeToNode(incident, JsonDefaults.Options)!.AsObject();
        // The computed TimeSpan properties would serialize as "00:00:01.2"; clients get plain milliseconds instead.
        node.Remove("timeToDetect");
        node.Remove("timeToMitigate");
        node["timeToDetectMs"] = (long)Math.Round(incident.TimeToDetect.TotalMilliseconds);
        node["timeToMitigateMs"] = incident.TimeToMitigate is { } ttm ? (long)Math.Round(ttm.TotalMilliseconds) : null;
        if (actions is not null)
        {
            node["actions"] = JsonSerializer.SerializeToNode(actions, JsonDefaults.Options);
        }

        return node;
    }

    private static bool TryParseRange(string? raw, string name, int fallback, int min, int max, out int value, out IResult problem)
    {
        problem = Results.Empty;
        if (raw is null)
        {
            value = fallback;
            return true;
        }

        if (int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max)
        {
            return true;
        }

        problem = Problem(StatusCodes.Status400BadRequest, $"invalid {name}", $"{name} must be an integer from {min} to {max}, not '{raw}'");
        return false;
    }

    private static string LogPath(GatewayOptions options, string instanceId) => Path.Combine(options.LogDirectory, instanceId + ".log");

    private static IResult Json(object value) => Results.Json(value, JsonDefaults.Options);

    private static IResult Problem(int status, string title, string detail) => Results.Problem(detail: detail, statusCode: status, title: title);

    private static ILogger Logger(ILoggerFactory logs) => logs.CreateLogger("Autonomic.Gateway");

    [GeneratedRegex("^[a-z0-9][a-z0-9-]*$")]
    private static partial Regex TargetName();

    [GeneratedRegex("^[a-z0-9][a-z0-9-]*(/[0-9]+)?$")]
    private static partial Regex ChaosTarget();

    [LoggerMessage(Level = LogLevel.Error, Message = "State store request failed")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Injecting {Fault} into {Target} failed")]
    private static partial void LogChaosFailed(ILogger logger, string fault, string target, Exception exception);
}
