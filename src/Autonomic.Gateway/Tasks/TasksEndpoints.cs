using System.Globalization;
using System.Text.Json;
using Autonomic.Agents.Tasks;
using Autonomic.Core.Model;
using Autonomic.Gateway.Http;
using Autonomic.Core.Tasks;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Autonomic.Gateway;

/// <summary>The body of <c>POST /api/v1/tasks</c>.</summary>
public sealed record TaskSubmitBody(string? Type, JsonElement? Input, string? IdempotencyKey, int? MaxAttempts);

/// <summary>
/// The task API: submit (202, or 200 when an idempotency key names an earlier task), list, show, cancel and queue stats.
/// Invalid submissions are 422 problem documents listing every problem in <c>errors</c>; a cancel of a finished task is 409.
/// </summary>
public static partial class TasksEndpoints
{
    private const int MaxLimit = 1000;
    private const string IdempotencyHeader = "Idempotency-Key";
    private static readonly string[] StatusFilters = [.. Enum.GetValues<TaskState>().Select(TaskLifecycle.Name), "dead"];

    /// <summary>Maps <c>/tasks</c> under <paramref name="api"/> (the <c>/api/v1</c> group).</summary>
    public static RouteGroupBuilder MapTasksApi(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapPost("/tasks", SubmitAsync).RequireAuthorization(AuthPolicies.Operator);
        api.MapGet("/tasks", ListAsync).RequireAuthorization(AuthPolicies.Viewer);
        api.MapGet("/tasks/stats", StatsAsync).RequireAuthorization(AuthPolicies.Viewer);
        api.MapGet("/tasks/{id}", GetAsync).RequireAuthorization(AuthPolicies.Viewer);
        api.MapPost("/tasks/{id}/cancel", CancelAsync).RequireAuthorization(AuthPolicies.Operator);
        return api;
    }

    private static Task<IResult> SubmitAsync(HttpContext http, CancellationToken ct) => Guarded(http, async board =>
    {
        var (body, problem) = await LenientJsonBody.ReadAsync<TaskSubmitBody>(http.Request, """{"type":"...","input":{...}}""", ct);
        if (body is null)
        {
            return problem!;
        }

        var header = http.Request.Headers[IdempotencyHeader].ToString();
        var key = body.IdempotencyKey;
        if (header.Length > 0)
        {
            if (key is not null && key != header)
            {
                return Problems.Status(StatusCodes.Status400BadRequest, "conflicting idempotency keys", $"the {IdempotencyHeader} header and idempotencyKey in the body differ");
            }

            key = header;
        }

        try
        {
            var requestedBy = http.User.Identity?.Name is { Length: > 0 } name ? name : "api";
            var result = await board.SubmitAsync(new TaskSubmission(body.Type, body.Input, key, body.MaxAttempts, requestedBy), ct);
            if (result.Replayed)
            {
                return Json(result.Task, StatusCodes.Status200OK);
            }

            http.Response.Headers.Location = $"/api/v1/tasks/{result.Task.Id}";
            return Json(result.Task, StatusCodes.Status202Accepted);
        }
        catch (TaskValidationException e)
        {
            return Results.Problem(
                detail: string.Join("; ", e.Errors),
                statusCode: StatusCodes.Status422UnprocessableEntity,
                title: "invalid task",
                extensions: new Dictionary<string, object?> { ["errors"] = e.Errors, ["knownTypes"] = TaskTypes.All });
        }
        catch (IdempotencyConflictException e)
        {
            return Problems.Status(StatusCodes.Status409Conflict, "idempotency key reused", e.Message);
        }
    });

    private static Task<IResult> ListAsync(HttpContext http, string? status, string? limit, CancellationToken ct) => Guarded(http, async board =>
    {
        if (status is { Length: > 0 } && !StatusFilters.Contains(status))
        {
            return Problems.Status(StatusCodes.Status400BadRequest, "invalid status", $"status must be one of {string.Join(", ", StatusFilters)}, not '{status}'");
        }

        var n = 50;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out n) || n < 1 || n > MaxLimit))
        {
            return Problems.Status(StatusCodes.Status400BadRequest, "invalid limit", $"limit must be an integer from 1 to {MaxLimit}, not '{limit}'");
        }

        return Json(await board.ListAsync(status, n, ct));
    });

    private static Task<IResult> GetAsync(HttpContext http, string id, CancellationToken ct) => Guarded(http, async board =>
        await board.GetAsync(id, ct) is { } found
            ? Json(found.Task)
            : Problems.Status(StatusCodes.Status404NotFound, "task not found", $"no task has id '{id}'"));

    private static Task<IResult> CancelAsync(HttpContext http, string id, CancellationToken ct) => Guarded(http, async board =>
    {
        var (outcome, task) = await board.CancelAsync(id, ct);
        return outcome switch
        {
            CancelOutcome.NotFound => Problems.Status(StatusCodes.Status404NotFound, "task not found", $"no task has id '{id}'"),
            CancelOutcome.AlreadyFinished => Problems.Status(StatusCodes.Status409Conflict, "task already finished", $"task {id} is {TaskLifecycle.Name(task!.Status)}; only queued or running tasks can be cancelled"),
            // A running task stops when its worker next checks in: accepted, not done yet.
            CancelOutcome.Requested => Json(task!, StatusCodes.Status202Accepted),
            _ => Json(task!),
        };
    });

    private static Task<IResult> StatsAsync(HttpContext http, CancellationToken ct) => Guarded(http, async board =>
        Json(await board.StatsAsync(ct)));

    /// <summary>Resolves the board; a missing one or a failing store is 503, never a 500.</summary>
    private static async Task<IResult> Guarded(HttpContext http, Func<TaskBoard, Task<IResult>> handler)
    {
        TaskBoard? board;
        try
        {
            board = http.RequestServices.GetService<TaskBoard>();
        }
        catch (InvalidOperationException e)
        {
            return Problems.Status(StatusCodes.Status503ServiceUnavailable, "tasks unavailable", e.Message);
        }

        if (board is null)
        {
            return Problems.Status(StatusCodes.Status503ServiceUnavailable, "tasks unavailable", "this control plane does not serve tasks");
        }

        try
        {
            return await handler(board);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFailed(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Autonomic.Gateway.Tasks"), e);
            return Problems.Status(StatusCodes.Status503ServiceUnavailable, "task store unavailable", "the task store could not be reached; see the control plane log");
        }
    }

    private static IResult Json(object value, int status = StatusCodes.Status200OK) => Results.Json(value, JsonDefaults.Options, statusCode: status);

    [LoggerMessage(Level = LogLevel.Error, Message = "task request failed")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
