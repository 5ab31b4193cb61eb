using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;
using Autonomic.Gateway.Auth;
using Autonomic.Gateway.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Autonomic.Gateway.Services;

/// <summary>The body of <c>POST /api/v1/services/{name}/scale</c>.</summary>
public sealed record ScaleBody(int Replicas);

/// <summary>
/// The answer to a desired-state change: the command event published on the bus (the healer carries it out) and
/// what it asks for.
/// </summary>
public sealed record ServiceCommandAccepted(string EventId, string Type, string Service, int? Replicas = null);

/// <summary>
/// <c>/api/v1/services</c>: services as desired state. A change is validated, saved in the state store where the
/// store can hold it, and published as a command event (<see cref="EventTypes.ServiceApply"/>, ServiceDelete,
/// ServiceScale, ServiceRestart) for the healer; the answer is 202 with the command.
/// </summary>
public static partial class ServicesEndpoints
{
    private const string Source = "/gateway";

    // One change at a time per gateway, so two creates of one name cannot both pass the existence check.
    private static readonly SemaphoreSlim Changes = new(1, 1);

    public static RouteGroupBuilder MapServicesApi(this RouteGroupBuilder api)
    {
        var services = api.MapGroup("/services").WithTags("services");
        services.MapGet("/", ListAsync).RequireAuthorization(AuthPolicies.Viewer)
            .WithName("listServices").WithSummary("Every service's desired state (spec)")
            .Produces<IReadOnlyList<ServiceSpec>>().ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        services.MapGet("/{name}", GetAsync).RequireAuthorization(AuthPolicies.Viewer)
            .WithName("getService").WithSummary("One service's desired state (spec)")
            .Produces<ServiceSpec>().ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        services.MapPost("/", CreateAsync).RequireAuthorization(AuthPolicies.Operator)
            .WithName("createService").WithSummary("Create a service from a spec; the healer starts its replicas")
            .Accepts<ServiceSpec>("application/json")
            .Produces<ServiceCommandAccepted>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        services.MapPut("/{name}", UpdateAsync).RequireAuthorization(AuthPolicies.Operator)
            .WithName("updateService").WithSummary("Replace a service's spec; the healer rolls its replicas onto it")
            .Accepts<ServiceSpec>("application/json")
            .Produces<ServiceCommandAccepted>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        services.MapDelete("/{name}", DeleteAsync).RequireAuthorization(AuthPolicies.Operator)
            .WithName("deleteService").WithSummary("Remove a service; the healer stops its replicas")
            .Produces<ServiceCommandAccepted>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        services.MapPost("/{name}/scale", ScaleAsync).RequireAuthorization(AuthPolicies.Operator)
            .WithName("scaleService").WithSummary($"Set a service's replica count (0 to {ServiceSpecValidator.MaxReplicas})")
            .Accepts<ScaleBody>("application/json")
            .Produces<ServiceCommandAccepted>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        services.MapPost("/{name}/restart", RestartAsync).RequireAuthorization(AuthPolicies.Operator)
            .WithName("restartService").WithSummary("Restart every replica of a service, one at a time")
            .Produces<ServiceCommandAccepted>(StatusCodes.Status202Accepted)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return api;
    }

    private static async Task<IResult> ListAsync(IStateStore store, ILoggerFactory logs, CancellationToken ct) =>
        await GuardedAsync(logs, async () => Results.Json((await store.ListServicesAsync(ct)).OrderBy(s => s.Name, StringComparer.Ordinal).ToList(), SpecJson.Options));

    private static async Task<IResult> GetAsync(string name, IStateStore store, ILoggerFactory logs, CancellationToken ct) => await GuardedAsync(logs, async () =>
    {
        if (BadName(name) is { } bad)
        {
            return bad;
        }

        return await FindAsync(store, name, ct) is { } spec ? Results.Json(spec, SpecJson.Options) : NotFound(name);
    });

    private static async Task<IResult> CreateAsync(HttpContext context, IStateStore store, ILoggerFactory logs, CancellationToken ct)
    {
        var (spec, problem) = await JsonBody.ReadAsync<ServiceSpec>(context.Request, ct);
        if (spec is null)
        {
            return problem!;
        }

        return await GuardedAsync(logs, () => ChangeAsync(async () =>
        {
            var all = await store.ListServicesAsync(ct);
            if (Invalid(spec, all, context) is { } invalid)
            {
                return invalid;
            }

            if (all.Any(s => s.Name == spec.Name))
            {
                return Problems.Status(StatusCodes.Status409Conflict, "service exists", $"a service named '{spec.Name}' exists already; update it with PUT /api/v1/services/{spec.Name}");
            }

            await store.SaveServiceAsync(spec, ct);
            var evt = await PublishAsync(context, EventTypes.ServiceApply, spec.Name, spec, ct);
            return Results.Accepted($"/api/v1/services/{spec.Name}", new ServiceCommandAccepted(evt.Id, evt.Type, spec.Name, spec.Replicas));
        }));
    }

    private static async Task<IResult> UpdateAsync(string name, HttpContext context, IStateStore store, ILoggerFactory logs, CancellationToken ct)
    {
        if (BadName(name) is { } bad)
        {
            return bad;
        }

        var (spec, problem) = await JsonBody.ReadAsync<ServiceSpec>(context.Request, ct);
        if (spec is null)
        {
            return problem!;
        }

        if (spec.Name != name)
        {
            return Problems.Invalid("name", $"the spec's name '{spec.Name}' differs from the path's '{name}'; a service cannot be renamed");
        }

        return await GuardedAsync(logs, () => ChangeAsync(async () =>
        {
            var all = await store.ListServicesAsync(ct);
            if (!all.Any(s => s.Name == name))
            {
                return NotFound(name);
            }

            if (Invalid(spec, all, context) is { } invalid)
            {
                return invalid;
            }

            await store.SaveServiceAsync(spec, ct);
            var evt = await PublishAsync(context, EventTypes.ServiceApply, name, spec, ct);
            return Results.Accepted($"/api/v1/services/{name}", new ServiceCommandAccepted(evt.Id, evt.Type, name, spec.Replicas));
        }));
    }

    private static async Task<IResult> DeleteAsync(string name, HttpContext context, IStateStore store, ILoggerFactory logs, CancellationToken ct)
    {
        if (BadName(name) is { } bad)
        {
            return bad;
        }

        return await GuardedAsync(logs, () => ChangeAsync(async () =>
        {
            if (await FindAsync(store, name, ct) is null)
            {
                return NotFound(name);
            }

            // The state store has no way to remove a spec: the healer that carries out the command removes it.
            var evt = await PublishAsync(context, EventTypes.ServiceDelete, name, Command(context, name, null), ct);
            return Results.Accepted($"/api/v1/services/{name}", new ServiceCommandAccepted(evt.Id, evt.Type, name));
        }));
    }

    private static async Task<IResult> ScaleAsync(string name, HttpContext context, IStateStore store, ILoggerFactory logs, CancellationToken ct)
    {
        if (BadName(name) is { } bad)
        {
            return bad;
        }

        var (body, problem) = await JsonBody.ReadAsync<ScaleBody>(context.Request, ct);
        if (body is null)
        {
            return problem!;
        }

        if (body.Replicas is < 0 or > ServiceSpecValidator.MaxReplicas)
        {
            return Problems.Invalid("replicas", $"must be from 0 to {ServiceSpecValidator.MaxReplicas}, not {body.Replicas}");
        }

        return await GuardedAsync(logs, () => ChangeAsync(async () =>
        {
            var all = await store.ListServicesAsync(ct);
            if (all.FirstOrDefault(s => s.Name == name) is not { } spec)
            {
                return NotFound(name);
            }

            var scaled = spec with { Replicas = body.Replicas };
            if (Invalid(scaled, all, context) is { } invalid)
            {
                return invalid;
            }

            await store.SaveServiceAsync(scaled, ct);
            var evt = await PublishAsync(context, EventTypes.ServiceScale, name, Command(context, name, body.Replicas), ct);
            return Results.Accepted($"/api/v1/services/{name}", new ServiceCommandAccepted(evt.Id, evt.Type, name, body.Replicas));
        }));
    }

    private static async Task<IResult> RestartAsync(string name, HttpContext context, IStateStore store, ILoggerFactory logs, CancellationToken ct)
    {
        if (BadName(name) is { } bad)
        {
            return bad;
        }

        return await GuardedAsync(logs, async () =>
        {
            if (await FindAsync(store, name, ct) is null)
            {
                return NotFound(name);
            }

            var evt = await PublishAsync(context, EventTypes.ServiceRestart, name, Command(context, name, null), ct);
            return Results.Accepted($"/api/v1/services/{name}", new ServiceCommandAccepted(evt.Id, evt.Type, name));
        });
    }

    private static ServiceCommand Command(HttpContext context, string name, int? replicas) =>
        new(name, replicas, Reason: "api", RequestedBy: RequestedBy(context));

    private static string? RequestedBy(HttpContext context) =>
        context.Items[ApiKeyAuthenticationHandler.KeyItem] is ApiKeyRecord key ? $"key:{key.Id}" : null;

    private static async Task<CloudEvent> PublishAsync(HttpContext context, string type, string service, object data, CancellationToken ct)
    {
        var bus = context.RequestServices.GetService<IEventBus>() ?? throw new BusUnavailableException();
        var time = context.RequestServices.GetRequiredService<TimeProvider>();
        var evt = CloudEvent.Create(Source, type, service, time.GetUtcNow(), data);
        await bus.PublishAsync(evt, ct);
        return evt;
    }

    private static IResult? Invalid(ServiceSpec spec, IReadOnlyList<ServiceSpec> all, HttpContext context)
    {
        var errors = ServiceSpecValidator.Validate(spec);
        if (errors.Count == 0)
        {
            errors = ServiceSpecValidator.CheckPorts(spec, all, context.Connection.LocalPort is > 0 and var port ? port : null);
        }

        return errors.Count == 0 ? null : Problems.Invalid("invalid service spec", errors.Select(e => (e.Field, e.Message)).ToList());
    }

    private static async Task<ServiceSpec?> FindAsync(IStateStore store, string name, CancellationToken ct) =>
        (await store.ListServicesAsync(ct)).FirstOrDefault(s => s.Name == name);

    private static IResult? BadName(string name) => ServiceSpecValidator.IsValidName(name)
        ? null
        : Problems.Status(StatusCodes.Status400BadRequest, "invalid service name", "a service name is a DNS label: lowercase letters, digits and '-', starting with a letter");

    private static IResult NotFound(string name) => Problems.Status(StatusCodes.Status404NotFound, "service not found", $"no service is named '{name}'");

    private static async Task<IResult> ChangeAsync(Func<Task<IResult>> change)
    {
        await Changes.WaitAsync();
        try
        {
            return await change();
        }
        finally
        {
            Changes.Release();
        }
    }

    private static async Task<IResult> GuardedAsync(ILoggerFactory logs, Func<Task<IResult>> handler)
    {
        try
        {
            return await handler();
        }
        catch (BusUnavailableException)
        {
            return Problems.Status(StatusCodes.Status503ServiceUnavailable, "event bus unavailable", "this gateway has no event bus to send the command on");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFailed(logs.CreateLogger("Autonomic.Gateway.Services"), e);
            return Problems.Status(StatusCodes.Status503ServiceUnavailable, "state unavailable", "the state store or the event bus failed; see the control plane log");
        }
    }

    private sealed class BusUnavailableException : Exception;

    [LoggerMessage(Level = LogLevel.Error, Message = "A services request failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
