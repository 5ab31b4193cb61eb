using System.Net.Http.Json;
using System.Text.Json;
using Autonomic.Core.Model;

namespace Autonomic.Cli.Commands;

/// <summary>No control plane answered at the API address (connection refused, no route, timeout).</summary>
internal sealed class ControlPlaneUnreachableException(string api, Exception inner)
    : Exception($"no control plane is running at {api} — start one with 'autonomic up' (or 'make demo')", inner);

/// <summary>The API answered with an error; carries the problem document's title and detail.</summary>
internal sealed class ApiProblemException(int status, string title, string? detail)
    : Exception(detail is null ? title : $"{title}: {detail}")
{
    public int Status { get; } = status;
    public string? Detail { get; } = detail;
}

/// <summary>A thin client of the control plane's <c>/api/v1</c> that turns failures into the two exceptions above.</summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient http;
    private readonly string api;

    public ApiClient(string api, TimeSpan timeout, string? apiKey = null)
    {
        this.api = api.TrimEnd('/');
        http = new HttpClient { BaseAddress = new Uri(this.api + "/"), Timeout = timeout };
        if (!string.IsNullOrEmpty(apiKey))
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", apiKey);
        }
    }

    public async Task<string> PutJsonAsync(string path, object body, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Put, path)
        {
            Content = JsonContent.Create(body, body.GetType(), options: JsonDefaults.Options),
        }, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    /// <summary>Posts a JSON text as is (a spec file's own text).</summary>
    public async Task<string> SendJsonTextAsync(HttpMethod method, string path, string json, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(method, path)
        {
            Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json"),
        }, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    public async Task<string> DeleteAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Delete, path), cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    /// <summary>The response body as text (raw JSON for the JSON endpoints).</summary>
    public async Task<string> GetTextAsync(string path, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Get, path), cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    public async Task<T> GetJsonAsync<T>(string path, CancellationToken cancellationToken)
    {
        var text = await GetTextAsync(path, cancellationToken);
        return Parse<T>(text);
    }

    public async Task<string> PostJsonAsync(string path, object body, CancellationToken cancellationToken)
    {
        using var response = await SendAsync(() => new HttpRequestMessage(HttpMethod.Post, path)
        {
            Content = JsonContent.Create(body, body.GetType(), options: JsonDefaults.Options),
        }, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    /// <summary>
    /// Sends a request the caller builds (a streamed body, say) and returns the successful response once its headers
    /// have arrived, so the body can be streamed too; failures map as for the other calls.
    /// </summary>
    public Task<HttpResponseMessage> SendStreamingAsync(Func<HttpRequestMessage> request, CancellationToken cancellationToken) =>
        SendAsync(request, cancellationToken, HttpCompletionOption.ResponseHeadersRead);

    public static T Parse<T>(string json) =>
        JsonSerializer.Deserialize<T>(json, JsonDefaults.Options) ?? throw new JsonException($"the API returned null for {typeof(T).Name}");

    private async Task<HttpResponseMessage> SendAsync(Func<HttpRequestMessage> request, CancellationToken cancellationToken, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        HttpResponseMessage response;
        try
        {
            using var message = request();
            response = await http.SendAsync(message, completion, cancellationToken);
        }
        catch (HttpRequestException e) when (e.StatusCode is null)
        {
            throw new ControlPlaneUnreachableException(api, e);
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient reports its own timeout as a cancellation; the caller did not cancel, so nobody answered.
            throw new ControlPlaneUnreachableException(api, e);
        }

        if (response.IsSuccessStatusCode)
        {
            return response;
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            var status = (int)response.StatusCode;
            var (title, detail) = ReadProblem(body);
            throw new ApiProblemException(status, title ?? $"{status} {response.ReasonPhrase}", detail);
        }
    }

    private static (string? Title, string? Detail) ReadProblem(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return (null, null);
            }

            return (Str(doc.RootElement, "title"), Str(doc.RootElement, "detail"));
        }
        catch (JsonException)
        {
            return (null, string.IsNullOrWhiteSpace(body) ? null : body.Trim());
        }

        static string? Str(JsonElement e, string name) =>
            e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
    }

    public void Dispose() => http.Dispose();
}
