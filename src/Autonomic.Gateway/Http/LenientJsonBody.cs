using System.Text.Json;
using Autonomic.Core.Model;
using Microsoft.AspNetCore.Http;

namespace Autonomic.Gateway.Http;

/// <summary>
/// Reads a JSON request body with <see cref="JsonDefaults.Options"/> (unknown fields are ignored), for the endpoints
/// whose 422 is their own list of <c>errors</c> (functions, tasks): a body that cannot be read into the record, or is
/// <c>null</c>, is a 400 <c>invalid body</c> that shows the shape expected. See <see cref="JsonBody"/> for the strict
/// reader of the other endpoints.
/// </summary>
internal static class LenientJsonBody
{
    /// <summary>
    /// The body as <typeparamref name="T"/>, or the problem to answer: <paramref name="shape"/> sketches the expected
    /// JSON; <paramref name="nullDetail"/> is the detail for a <c>null</c> body (by default "expected JSON" and the shape).
    /// </summary>
    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request, string shape, CancellationToken ct, string? nullDetail = null)
        where T : class
    {
        try
        {
            return await JsonSerializer.DeserializeAsync<T>(request.Body, JsonDefaults.Options, ct) is { } value
                ? (value, null)
                : (null, Problems.Status(StatusCodes.Status400BadRequest, "invalid body", nullDetail ?? $"expected JSON {shape}"));
        }
        catch (JsonException e)
        {
            return (null, Problems.Status(StatusCodes.Status400BadRequest, "invalid body", $"expected JSON {shape}: {e.Message}"));
        }
    }
}
