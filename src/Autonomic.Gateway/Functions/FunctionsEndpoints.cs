using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Gateway.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Autonomic.Gateway.Functions;

/// <summary>The body of <c>POST /api/v1/functions</c>.</summary>
public sealed record FunctionDeployRequest
{
    public string? Name { get; init; }
    public string? Kind { get; init; }
    public string? Source { get; init; }
    public string? FileName { get; init; }
    public IReadOnlyList<string>? Command { get; init; }
    public int? TimeoutMs { get; init; }
    public int? MemoryMb { get; init; }
    public int? CpuSeconds { get; init; }
    public int? MaxWorkers { get; init; }
    public int? MinIdle { get; init; }
    public IReadOnlyDictionary<string, string>? Env { get; init; }
}

/// <summary>
/// <c>/api/v1/functions</c>: deploy (201; 422 with <c>errors</c> for a malformed function or compile errors), list,
/// versions, delete, invoke. An invocation that ran answers 200 whether the handler succeeded or failed (<c>status</c>
/// says which, <c>error</c> why); one whose worker timed out answers 504 and one whose worker crashed 502, both as
/// problem documents carrying the same fields (status, error, cold, durationMs, logs); an unknown function or version 404.
/// </summary>
public static partial class FunctionsEndpoints
{
    /// <summary>The largest invocation event accepted.</summary>
    public const int MaxEventBytes = 6 * 1024 * 1024;

    public static RouteGroupBuilder MapFunctionsApi(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapPost("/functions", DeployAsync).RequireAuthorization(AuthPolicies.Operator);
        api.MapGet("/functions", ListAsync).RequireAuthorization(AuthPolicies.Viewer);
        api.MapGet("/functions/{name}", GetAsync).RequireAuthorization(AuthPolicies.Viewer);
        api.MapDelete("/functions/{name}", DeleteAsync).RequireAuthorization(AuthPolicies.Operator);
        // An invocation runs user code; it changes nothing in the control plane: a data event (access log, function
        // log, metrics), not an audited change.
        api.MapPost("/functions/{name}/invoke", InvokeAsync).RequireAuthorization(AuthPolicies.Operator).WithMetadata(Http.DataPlane.Instance);
        return api;
    }

    private static async Task<IResult> DeployAsync(HttpContext http, CancellationToken ct)
    {
        if (http.RequestServices.GetService<IFunctionRegistry>() is not { } registry)
        {
            return NotEnabled();
        }

        var (body, problem) = await LenientJsonBody.ReadAsync<FunctionDeployRequest>(http.Request, """{"name":..,"kind":"csharp|exec","source":..}""", ct, "expected a JSON object");
        if (body is null)
        {
            return problem!;
        }

        try
        {
            var info = await registry.DeployAsync(new FunctionDeployment
            {
                Name = body.Name ?? "",
                Kind = body.Kind ?? "",
                Source = body.Source,
                FileName = body.FileName,
                Command = body.Command,
                TimeoutMs = body.TimeoutMs,
                MemoryMb = body.MemoryMb,
                CpuSeconds = body.CpuSeconds,
                MaxWorkers = body.MaxWorkers,
                MinIdle = body.MinIdle,
                Env = body.Env,
            }, ct);
            return Results.Json(info, JsonDefaults.Options, statusCode: StatusCodes.Status201Created);
        }
        catch (FunctionDeployException e)
        {
            return Results.Problem(
                detail: e.Message + (e.Errors.Count > 0 ? ":\n" + string.Join('\n', e.Errors) : ""),
                statusCode: StatusCodes.Status422UnprocessableEntity,
                title: "function not deployed",
                extensions: new Dictionary<string, object?> { ["errors"] = e.Errors });
        }
        catch (InvalidOperationException e)
        {
            return Problems.Status(StatusCodes.Status409Conflict, "function not deployed", e.Message);
        }
    }

    private static async Task<IResult> ListAsync(HttpContext http, CancellationToken ct) =>
        http.RequestServices.GetService<IFunctionRegistry>() is { } registry
            ? Results.Json(await registry.ListAsync(ct), JsonDefaults.Options)
            : NotEnabled();

    private static async Task<IResult> GetAsync(HttpContext http, string name, CancellationToken ct)
    {
        if (http.RequestServices.GetService<IFunctionRegistry>() is not { } registry)
        {
            return NotEnabled();
        }

        return await registry.GetAsync(name, ct) is { } info
            ? Results.Json(info, JsonDefaults.Options)
            : Problems.Status(StatusCodes.Status404NotFound, "function not found", $"no function is named '{name}'");
    }

    private static async Task<IResult> DeleteAsync(HttpContext http, string name, CancellationToken ct)
    {
        if (http.RequestServices.GetService<IFunctionRegistry>() is not { } registry)
        {
            return NotEnabled();
        }

        return await registry.DeleteAsync(name, ct)
            ? Results.NoContent()
            : Problems.Status(StatusCodes.Status404NotFound, "function not found", $"no function is named '{name}'");
    }

    private static async Task<IResult> InvokeAsync(HttpContext http, string name, string? version, CancellationToken ct)
    {
        if (http.RequestServices.GetService<IFunctionInvoker>() is not { } invoker)
        {
            return NotEnabled();
        }

        int? wanted = null;
        if (version is not null)
        {
            if (!int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var v) || v < 1)
            {
                return Problems.Status(StatusCodes.Status400BadRequest, "invalid version", $"version must be a positive integer, not '{version}'");
            }

            wanted = v;
        }

        if (http.Request.ContentLength > MaxEventBytes)
        {
            return Problems.Status(StatusCodes.Status413PayloadTooLarge, "event too large", $"an event is at most {MaxEventBytes} bytes");
        }

        JsonElement payload;
        try
        {
            using var buffer = new MemoryStream();
            await http.Request.Body.CopyToAsync(buffer, ct);
            if (buffer.Length > MaxEventBytes)
            {
                return Problems.Status(StatusCodes.Status413PayloadTooLarge, "event too large", $"an event is at most {MaxEventBytes} bytes");
            }

            using var doc = buffer.Length == 0 ? JsonDocument.Parse("null") : JsonDocument.Parse(buffer.ToArray());
            payload = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            return Problems.Status(StatusCodes.Status400BadRequest, "invalid event", $"the body must be JSON (the event): {e.Message}");
        }

        InvocationResult result;
        try
        {
            result = await invoker.InvokeAsync(name, wanted, payload, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            LogInvokeFailed(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Autonomic.Gateway.Functions"), name, e);
            return Problems.Status(StatusCodes.Status503ServiceUnavailable, "invocation failed", "the function could not be run; see the control plane log");
        }

        return result.Status switch
        {
            InvocationStatus.Succeeded or InvocationStatus.Failed => Results.Json(result, JsonDefaults.Options),
            InvocationStatus.NotFound => Problems.Status(StatusCodes.Status404NotFound, "function not found", result.Error ?? $"no function is named '{name}'"),
            InvocationStatus.TimedOut => Failure(StatusCodes.Status504GatewayTimeout, "function timed out", result),
            _ => Failure(StatusCodes.Status502BadGateway, "function crashed", result),
        };
    }

    private static IResult Failure(int status, string title, InvocationResult result) => Results.Problem(
        detail: result.Error,
        statusCode: status,
        title: title,
        extensions: new Dictionary<string, object?>
        {
            ["function"] = result.Function,
            ["version"] = result.Version,
            ["invocationStatus"] = JsonNamingPolicy.SnakeCaseLower.ConvertName(result.Status.ToString()),
            ["cold"] = result.Cold,
            ["durationMs"] = result.DurationMs,
            ["logs"] = result.Logs,
        });

    private static IResult NotEnabled() =>
        Problems.Status(StatusCodes.Status503ServiceUnavailable, "functions not enabled", "this control plane runs no function invoker");

    [LoggerMessage(Level = LogLevel.Error, Message = "invoking function {Name} failed")]
    private static partial void LogInvokeFailed(ILogger logger, string name, Exception exception);
}
