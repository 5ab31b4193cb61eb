using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Autonomic.Gateway.Http;

/// <summary>
/// Writes every problem as <c>application/problem+json</c>, whatever the request's Accept header says: clients of the
/// API (and the fuzz tests) can rely on one error format, and a browser asking for HTML still gets a readable answer
/// instead of the framework giving up on the error.
/// </summary>
internal sealed class ProblemJsonWriter : IProblemDetailsWriter
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public bool CanWrite(ProblemDetailsContext context) => true;

    public ValueTask WriteAsync(ProblemDetailsContext context)
    {
        var http = context.HttpContext;
        var problem = context.ProblemDetails;
        problem.Status ??= http.Response.StatusCode;
        problem.Title ??= ReasonPhrases.GetReasonPhrase(problem.Status.Value);
        problem.Type ??= $"https://www.rfc-editor.org/rfc/rfc9110#status-{problem.Status}";
        problem.Extensions.TryAdd("requestId", http.TraceIdentifier);
        http.Response.ContentType = "application/problem+json";
        return new ValueTask(http.Response.WriteAsJsonAsync(problem, problem.GetType(), Options, "application/problem+json", http.RequestAborted));
    }
}
