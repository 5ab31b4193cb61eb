using System.Globalization;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Autonomic.Gateway.Objects;

/// <summary>One store in <c>GET /api/v1/objects</c>.</summary>
public sealed record ObjectStoreView(string Name, string Kind, bool Default);

/// <summary>
/// <c>/api/v1/objects</c>: the control plane's object stores (<see cref="ObjectStores"/> from DI). Uploads stream
/// the request body straight into the store (never buffered), up to <see cref="ObjectStores.MaxUploadBytes"/>;
/// downloads stream back with Content-Length, Content-Type and the SHA-256 as ETag. Errors are problem documents:
/// 400 invalid key or header, 404 unknown store or object, 413 too large, 422 checksum mismatch, 503 store failure.
/// </summary>
public static partial class ObjectsEndpoints
{
    /// <summary>The request header with the SHA-256 (hex) the uploaded content must have.</summary>
    public const string ChecksumHeader = "X-Checksum-Sha256";

    private const int MaxListLimit = 1000;

    /// <summary>Maps the objects endpoints under <paramref name="api"/> (<c>/api/v1</c>).</summary>
    public static RouteGroupBuilder MapObjectsApi(this RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapGet("/objects", ListStores).RequireAuthorization(AuthPolicies.Viewer);
        api.MapGet("/objects/{store}", ListObjectsAsync).RequireAuthorization(AuthPolicies.Viewer);
        api.MapGet("/objects/{store}/{**key}", GetObjectAsync).RequireAuthorization(AuthPolicies.Viewer);
        api.MapMethods("/objects/{store}/{**key}", [HttpMethods.Head], HeadObjectAsync).RequireAuthorization(AuthPolicies.Viewer);
        api.MapPut("/objects/{store}/{**key}", PutObjectAsync).RequireAuthorization(AuthPolicies.Operator);
        api.MapDelete("/objects/{store}/{**key}", DeleteObjectAsync).RequireAuthorization(AuthPolicies.Operator);
        return api;
    }

    private static IResult ListStores(HttpContext http)
    {
        var stores = Stores(http);
        return Results.Json(stores.Names.Select(n => new ObjectStoreView(n, stores.Get(n)!.Kind, n == stores.Default)).ToList(), JsonDefaults.Options);
    }

    private static Task<IResult> ListObjectsAsync(HttpContext http, string store, string? prefix, string? limit, CancellationToken ct) => Guarded(http, store, null, async s =>
    {
        int n = 100;
        if (limit is not null && (!int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out n) || n < 1 || n > MaxListLimit))
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid limit", $"limit must be an integer from 1 to {MaxListLimit}, not '{limit}'");
        }

        return Results.Json(await s.ListAsync(prefix ?? "", n, ct), JsonDefaults.Options);
    });

    private static Task<IResult> GetObjectAsync(HttpContext http, string store, string key, CancellationToken ct) => Guarded(http, store, key, async s =>
    {
        if (await s.GetAsync(key, ct) is not var (info, content))
        {
            return NoSuchObject(store, key);
        }

        // Set here because a stream that cannot seek (S3) would otherwise go out chunked, without a length.
        http.Response.ContentLength = info.Size;
        return Results.Stream(content, info.ContentType, lastModified: info.LastModified, entityTag: ETag(info));
    });

    private static Task<IResult> HeadObjectAsync(HttpContext http, string store, string key, CancellationToken ct) => Guarded(http, store, key, async s =>
    {
        if (await s.HeadAsync(key, ct) is not { } info)
        {
            return NoSuchObject(store, key);
        }

        var headers = http.Response.GetTypedHeaders();
        http.Response.ContentLength = info.Size;
        http.Response.ContentType = info.ContentType;
        headers.ETag = ETag(info);
        headers.LastModified = info.LastModified;
        return Results.Empty;
    });

    private static Task<IResult> PutObjectAsync(HttpContext http, string store, string key, CancellationToken ct) => Guarded(http, store, key, async s =>
    {
        long max = Stores(http).MaxUploadBytes;
        if (http.Request.ContentLength > max)
        {
            return TooLarge(max);
        }

        // Kestrel's default limit (30 MB) is for ordinary requests; an upload may be as large as the store allows.
        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = max;
        }

        string? expected = http.Request.Headers[ChecksumHeader].ToString() is { Length: > 0 } sha ? sha : null;
        if (expected is not null && (expected.Length != 64 || !expected.All(char.IsAsciiHexDigit)))
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid checksum header", $"{ChecksumHeader} must be 64 hex digits (a SHA-256)");
        }

        string? contentType = http.Request.ContentType;
        try
        {
            ObjectKeys.ContentType(contentType);
        }
        catch (ArgumentException e)
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid content type", e.Message);
        }

        ObjectInfo info;
        try
        {
            info = await s.PutAsync(key, http.Request.Body, contentType, expected, ct);
        }
        catch (InvalidDataException e)
        {
            return Problem(StatusCodes.Status422UnprocessableEntity, "checksum mismatch", e.Message);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(max);
        }

        http.Response.Headers.Location = $"{http.Request.PathBase}{http.Request.Path}";
        return Results.Json(info, JsonDefaults.Options, statusCode: StatusCodes.Status201Created);
    });

    private static Task<IResult> DeleteObjectAsync(HttpContext http, string store, string key, CancellationToken ct) => Guarded(http, store, key, async s =>
        await s.DeleteAsync(key, ct) ? Results.NoContent() : NoSuchObject(store, key));

    /// <summary>Resolves the store and checks the key, then runs <paramref name="handler"/>; a store failure becomes 503.</summary>
    private static async Task<IResult> Guarded(HttpContext http, string store, string? key, Func<IObjectStore, Task<IResult>> handler)
    {
        var stores = Stores(http);
        if (stores.Get(store) is not { } s)
        {
            return Problem(StatusCodes.Status404NotFound, "unknown object store",
                stores.Names.Count == 0 ? "no object stores are configured" : $"no object store is named '{store}'; there are: {string.Join(", ", stores.Names)}");
        }

        if (key is not null && ObjectKeys.Problem(key) is { } reason)
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid object key", reason);
        }

        try
        {
            return await handler(s);
        }
        catch (ArgumentException e)
        {
            return Problem(StatusCodes.Status400BadRequest, "invalid request", e.Message);
        }
        catch (BadHttpRequestException e)
        {
            return Problem(e.StatusCode, "bad request", e.Message);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogStoreFailed(http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Autonomic.Gateway.Objects"), store, http.Request.Method, e);
            return Problem(StatusCodes.Status503ServiceUnavailable, "object store unavailable", $"object store '{store}' failed; see the control plane log");
        }
    }

    private static ObjectStores Stores(HttpContext http) => http.RequestServices.GetService<ObjectStores>() ?? ObjectStores.Empty;

    private static EntityTagHeaderValue? ETag(ObjectInfo info) => info.Sha256.Length > 0 ? new EntityTagHeaderValue($"\"{info.Sha256}\"") : null;

    private static IResult NoSuchObject(string store, string key) =>
        Problem(StatusCodes.Status404NotFound, "object not found", $"store '{store}' has no object '{key}'");

    private static IResult TooLarge(long max) =>
        Problem(StatusCodes.Status413PayloadTooLarge, "upload too large", $"an upload may be at most {max} bytes (control_plane.objects.max_upload)");

    private static IResult Problem(int status, string title, string detail) => Results.Problem(detail: detail, statusCode: status, title: title);

    [LoggerMessage(Level = LogLevel.Error, Message = "Object store {Store} failed a {Method} request")]
    private static partial void LogStoreFailed(ILogger logger, string store, string method, Exception exception);
}
