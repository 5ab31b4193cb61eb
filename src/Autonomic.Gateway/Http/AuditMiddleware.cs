using System.Globalization;
using Autonomic.Agents.Fleet;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Gateway.Auth;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Autonomic.Gateway.Http;

/// <summary>
/// Records every authorized change through the API (POST, PUT, PATCH, DELETE on an endpoint) as an
/// <see cref="AgentAction"/> of agent <c>gateway</c>, kind <c>api.METHOD</c>: intent before the endpoint runs, outcome
/// (the status code) after. Evidence names the key and its role, never its secret. A change whose intent cannot be
/// recorded is refused with 503, so nothing changes unaudited. Endpoints marked <see cref="DataPlane"/> (function
/// invocations) are data events, not changes: they are in the access events and logs, not in the audit trail.
/// </summary>
internal sealed partial class AuditMiddleware(RequestDelegate next, IStateStore store, TimeProvider time, ILogger<AuditMiddleware> logger)
{
    public const string Agent = "gateway";
    private readonly ActionRecorder _actions = new(store, time, Agent, newId: _ => "act-" + Guid.NewGuid().ToString("N")[..16]);

    public async Task InvokeAsync(HttpContext context)
    {
        var method = context.Request.Method;
        if (!(HttpMethods.IsPost(method) || HttpMethods.IsPut(method) || HttpMethods.IsPatch(method) || HttpMethods.IsDelete(method))
            || context.GetEndpoint() is not { } endpoint
            || endpoint.Metadata.GetMetadata<DataPlane>() is not null
            || context.Items[ApiKeyAuthenticationHandler.KeyItem] is not ApiKeyRecord key)
        {
            await next(context);
            return;
        }

        var path = context.Request.Path.Value ?? "/";
        var evidence = new Dictionary<string, string>
        {
            ["keyId"] = key.Id,
            ["keyName"] = key.Name,
            ["role"] = key.Role,
            ["method"] = method,
            ["path"] = path,
            ["requestId"] = context.TraceIdentifier,
        };
        var intent = _actions.New("api." + method.ToLowerInvariant(), path, "gateway.audit", $"{method} {path} by key {key.Id} ({key.Name}, {key.Role})", evidence);
        try
        {
            await _actions.IntentAsync(intent, context.RequestAborted);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogAuditFailed(logger, method, path, e);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            await Results.Problem(title: "audit unavailable", detail: "the change was not made: its audit record could not be written; see the control plane log",
                statusCode: StatusCodes.Status503ServiceUnavailable).ExecuteAsync(context);
            return;
        }

        var threw = false;
        try
        {
            await next(context);
        }
        catch
        {
            // The exception handler outside turns it into a 500 after this block has run.
            threw = true;
            throw;
        }
        finally
        {
            var status = threw ? StatusCodes.Status500InternalServerError : context.Response.StatusCode;
            var code = status.ToString(CultureInfo.InvariantCulture);
            try
            {
                // The request may be aborted; the record of what it did must still be completed.
                await _actions.CompleteAsync(intent with { Evidence = new Dictionary<string, string>(evidence) { ["status"] = code } },
                    status < 400 ? ActionStatus.Succeeded : ActionStatus.Failed, code, CancellationToken.None);
            }
            catch (Exception e)
            {
                LogAuditFailed(logger, method, path, e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing the audit record of {Method} {Path} failed")]
    private static partial void LogAuditFailed(ILogger logger, string method, PathString path, Exception exception);
}

/// <summary>Endpoint metadata: a data-plane call (it runs user work, it changes no control-plane state), not audited as a change.</summary>
internal sealed class DataPlane
{
    public static readonly DataPlane Instance = new();
}
