using System.Text.Json;
using Autonomic.Gateway.Services;
using Microsoft.AspNetCore.Http;

namespace Autonomic.Gateway.Http;

/// <summary>
/// Reads a JSON request body into a record with <see cref="SpecJson.Options"/>: text that is not JSON is a
/// 400 problem; JSON of the wrong shape (a wrong type, an unknown or missing field) a 422 problem naming the field.
/// A body over the size limit surfaces as the server's 413.
/// </summary>
internal static class JsonBody
{
    public static async Task<(T? Value, IResult? Problem)> ReadAsync<T>(HttpRequest request, CancellationToken ct)
        where T : class
    {
        JsonDocument doc;
        try
        {
            doc = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = 32 }, ct);
        }
        catch (JsonException e)
        {
            var detail = e.Message.Contains("does not contain any JSON tokens", StringComparison.Ordinal) ? "the body is empty; expected a JSON object" : "the body is not valid JSON: " + e.Message;
            return (null, Problems.Status(StatusCodes.Status400BadRequest, "invalid body", detail));
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, Problems.Invalid("$", $"expected a JSON object, got {doc.RootElement.ValueKind.ToString().ToLowerInvariant()}"));
            }

            try
            {
                var value = doc.RootElement.Deserialize<T>(SpecJson.Options);
                return value is null ? (null, Problems.Invalid("$", "expected a JSON object")) : (value, null);
            }
            catch (JsonException e) when (MissingFields(e.Message) is { Count: > 0 } missing)
            {
                return (null, Problems.Invalid("invalid request", [.. missing.Select(f => (f, "required"))]));
            }
            catch (JsonException e)
            {
                return (null, Problems.Invalid(Field(e.Path), Clean(e.Message)));
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException)
            {
                return (null, Problems.Invalid("$", "a value could not be read: " + e.Message));
            }
        }
    }

    private static string Field(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "$" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');

    // System.Text.Json appends "Path: $.x | LineNumber: 0 | BytePositionInLine: 12."; the field is named separately.
    // Its "could not be converted to Some.Type" names a .NET type, which means nothing to a caller.
    private static string Clean(string message)
    {
        var cut = message.IndexOf(" Path: ", StringComparison.Ordinal);
        message = cut > 0 ? message[..cut] : message;
        return message.Contains("could not be converted to", StringComparison.Ordinal)
            ? "a value of the wrong JSON type (check strings, numbers and lists against the API reference)"
            : message;
    }

    // "JSON deserialization for type 'X' was missing required properties including: 'a', 'b'."
    private static List<string> MissingFields(string message)
    {
        const string marker = "missing required properties including: ";
        int at = message.IndexOf(marker, StringComparison.Ordinal);
        return at < 0
            ? []
            : [.. message[(at + marker.Length)..].Split(',').Select(p => p.Trim().TrimEnd('.').Trim('\'')).Where(p => p.Length > 0)];
    }
}

/// <summary>Problem documents of the API.</summary>
internal static class Problems
{
    public static IResult Status(int status, string title, string detail) => Results.Problem(detail: detail, statusCode: status, title: title);

    /// <summary>A 422 naming one field, with the <c>errors</c> map of validation problems.</summary>
    public static IResult Invalid(string field, string message) => Invalid("invalid request", [(field, message)]);

    public static IResult Invalid(string title, IReadOnlyList<(string Field, string Message)> errors) => Results.ValidationProblem(
        errors.GroupBy(e => e.Field, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray(), StringComparer.Ordinal),
        detail: string.Join("; ", errors.Select(e => $"{e.Field}: {e.Message}")),
        statusCode: StatusCodes.Status422UnprocessableEntity,
        title: title);
}
