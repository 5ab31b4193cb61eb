using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Autonomic.Backends.Objects;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;

namespace Autonomic.Integration.Tests.Objects;

/// <summary>/api/v1/objects over a real gateway, against the directory store and a real s3rver.</summary>
public sealed class ObjectsApiTests(ObjectsGatewayFixture fx) : IClassFixture<ObjectsGatewayFixture>
{
    private HttpClient Http => fx.Http;

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        string body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {status}, got {response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(body);
        return doc.RootElement.Clone();
    }

    private static HttpRequestMessage Put(string path, byte[] data, string? type = null, string? sha = null)
    {
        var content = new ByteArrayContent(data);
        if (type is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
        }

        var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = content };
        if (sha is not null)
        {
            request.Headers.Add("X-Checksum-Sha256", sha);
        }

        return request;
    }

    [Fact]
    public async Task The_stores_are_listed_with_their_kind_and_the_default()
    {
        string json = await Http.GetStringAsync("/api/v1/objects");
        Assert.Equal("""[{"name":"local","kind":"directory","default":true},{"name":"s3","kind":"s3","default":false}]""", json);
    }

    [Theory]
    [InlineData("local")]
    [InlineData("s3")]
    public async Task Put_get_head_list_and_delete_round_trip(string store)
    {
        byte[] data = RandomNumberGenerator.GetBytes(300_000);
        string sha = Convert.ToHexStringLower(SHA256.HashData(data));
        string path = $"/api/v1/objects/{store}/round/trip%20file.bin";

        using (var put = await Http.SendAsync(Put(path, data, "application/x-test", sha)))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            Assert.Equal(path, put.Headers.Location?.OriginalString);
            var info = JsonSerializer.Deserialize<ObjectInfo>(await put.Content.ReadAsStringAsync(), JsonDefaults.Options)!;
            Assert.Equal(("round/trip file.bin", data.Length, sha, "application/x-test"), (info.Key, info.Size, info.Sha256, info.ContentType));
        }

        using (var get = await Http.GetAsync(path))
        {
            Assert.Equal(HttpStatusCode.OK, get.StatusCode);
            Assert.Equal(data.Length, get.Content.Headers.ContentLength);
            Assert.Equal($"\"{sha}\"", get.Headers.ETag?.Tag);
            Assert.Equal("application/x-test", get.Content.Headers.ContentType?.MediaType);
            Assert.Equal(data, await get.Content.ReadAsByteArrayAsync());
        }

        using (var head = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, path)))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(data.Length, head.Content.Headers.ContentLength);
            Assert.Equal($"\"{sha}\"", head.Headers.ETag?.Tag);
        }

        using (var notModified = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Get, path) { Headers = { IfNoneMatch = { new EntityTagHeaderValue($"\"{sha}\"") } } }))
        {
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        }

        var listed = JsonSerializer.Deserialize<List<ObjectInfo>>(await Http.GetStringAsync($"/api/v1/objects/{store}?prefix=round/&limit=10"), JsonDefaults.Options)!;
        Assert.Contains(listed, o => o.Key == "round/trip file.bin" && o.Sha256 == sha);

        using (var delete = await Http.DeleteAsync(path))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        await AssertProblemAsync(await Http.GetAsync(path), HttpStatusCode.NotFound);
        await AssertProblemAsync(await Http.DeleteAsync(path), HttpStatusCode.NotFound);
    }

    [Theory]
    [InlineData("local")]
    [InlineData("s3")]
    public async Task A_checksum_mismatch_is_422_and_stores_nothing(string store)
    {
        byte[] data = "what was sent"u8.ToArray();
        string other = Convert.ToHexStringLower(SHA256.HashData("what was meant"u8.ToArray()));
        var problem = await AssertProblemAsync(await Http.SendAsync(Put($"/api/v1/objects/{store}/checked.txt", data, sha: other)), (HttpStatusCode)422);
        Assert.Equal("checksum mismatch", problem.GetProperty("title").GetString());
        Assert.Null(await fx.Stores.Get(store)!.HeadAsync("checked.txt"));

        await AssertProblemAsync(await Http.SendAsync(Put($"/api/v1/objects/{store}/checked.txt", data, sha: "not-hex")), HttpStatusCode.BadRequest);
    }

    [Theory]
    [InlineData("a%5Cb")]
    [InlineData("a%01b")]
    [InlineData("a//b")]
    [InlineData(".autonomic-staging/x")]
    public async Task Invalid_keys_are_400(string encodedKey)
    {
        var problem = await AssertProblemAsync(await Http.SendAsync(Put($"/api/v1/objects/local/{encodedKey}", "x"u8.ToArray())), HttpStatusCode.BadRequest);
        Assert.Equal("invalid object key", problem.GetProperty("title").GetString());
        await AssertProblemAsync(await Http.GetAsync($"/api/v1/objects/local/{encodedKey}"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Dot_segments_sent_raw_never_write_outside_the_store()
    {
        // HttpClient would resolve the dots itself; a raw request sends them as an attacker would. Kestrel removes
        // dot segments (decoded ones too) before routing, so these never reach the store as a key.
        foreach (string target in new[] { "/api/v1/objects/local/../../../escape", "/api/v1/objects/local/%2E%2E/%2E%2E/escape" })
        {
            int status = await RawPutAsync(target, "pwned");
            Assert.True(status is 400 or 404 or 405, $"PUT {target} answered {status}");
        }

        // An encoded '/' stays encoded in the path, so this is one odd but harmless segment inside the store.
        Assert.Equal(201, await RawPutAsync("/api/v1/objects/local/a/%2e%2e%2f%2e%2e%2fescape", "inside"));
        string key = Assert.Single(await fx.Stores.Get("local")!.ListAsync("a/", 10)).Key;
        Assert.Equal(["a", "..%2f..%2fescape"], key.Split('/'), StringComparer.OrdinalIgnoreCase);
        Assert.All(Directory.EnumerateFiles(fx.Root, "*escape*", SearchOption.AllDirectories), f => Assert.StartsWith(fx.LocalRoot + "/objects/a.d/", f, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Unknown_stores_and_objects_are_404_and_bad_limits_400()
    {
        var problem = await AssertProblemAsync(await Http.GetAsync("/api/v1/objects/nope/x"), HttpStatusCode.NotFound);
        Assert.Contains("local, s3", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await AssertProblemAsync(await Http.GetAsync("/api/v1/objects/nope"), HttpStatusCode.NotFound);
        await AssertProblemAsync(await Http.SendAsync(Put("/api/v1/objects/nope/x", "x"u8.ToArray())), HttpStatusCode.NotFound);
        await AssertProblemAsync(await Http.GetAsync("/api/v1/objects/local/never/there"), HttpStatusCode.NotFound);
        await AssertProblemAsync(await Http.GetAsync("/api/v1/objects/local?limit=0"), HttpStatusCode.BadRequest);
        await AssertProblemAsync(await Http.GetAsync("/api/v1/objects/local?limit=abc"), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Uploads_over_the_limit_are_413_whether_announced_or_chunked()
    {
        await using var stores = new ObjectStores(new Dictionary<string, IObjectStore> { ["tiny"] = new DirectoryObjectStore(Path.Combine(fx.Root, "tiny")) }, "tiny", maxUploadBytes: 1024);
        await using var gateway = await fx.StartGatewayAsync(stores);
        using var http = new HttpClient { BaseAddress = gateway.Address };

        await AssertProblemAsync(await http.SendAsync(Put("/api/v1/objects/tiny/big", new byte[4096])), HttpStatusCode.RequestEntityTooLarge);

        var chunked = new StreamContent(new GeneratedStream(64 * 1024));
        var request = new HttpRequestMessage(HttpMethod.Put, "/api/v1/objects/tiny/big") { Content = chunked };
        request.Headers.TransferEncodingChunked = true;
        await AssertProblemAsync(await http.SendAsync(request), HttpStatusCode.RequestEntityTooLarge);
        Assert.Null(await stores.Get("tiny")!.HeadAsync("big"));

        using var small = await http.SendAsync(Put("/api/v1/objects/tiny/small", new byte[1024]));
        Assert.Equal(HttpStatusCode.Created, small.StatusCode);
    }

    [Fact]
    public async Task Objects_larger_than_kestrels_default_30_MB_limit_upload_to_both_stores()
    {
        const long size = 40L * 1024 * 1024;
        string sha = GeneratedStream.Sha256Of(size, seed: 21);
        foreach (string store in new[] { "local", "s3" })
        {
            var content = new StreamContent(new GeneratedStream(size, seed: 21));
            content.Headers.ContentLength = size;
            using var response = await Http.SendAsync(new HttpRequestMessage(HttpMethod.Put, $"/api/v1/objects/{store}/forty.bin") { Content = content, Headers = { { "X-Checksum-Sha256", sha } } });
            Assert.True(response.StatusCode == HttpStatusCode.Created, $"{store}: {response.StatusCode} {await response.Content.ReadAsStringAsync()}");

            using var get = await Http.GetAsync($"/api/v1/objects/{store}/forty.bin", HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(size, get.Content.Headers.ContentLength);
            await using var body = await get.Content.ReadAsStreamAsync();
            Assert.Equal(sha, Convert.ToHexStringLower(await SHA256.HashDataAsync(body)));
        }
    }

    private async Task<int> RawPutAsync(string target, string body)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(fx.Address.Host, fx.Address.Port);
        await using var stream = client.GetStream();
        byte[] request = Encoding.ASCII.GetBytes($"PUT {target} HTTP/1.1\r\nHost: {fx.Address.Authority}\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}");
        await stream.WriteAsync(request);
        using var reader = new StreamReader(stream, Encoding.ASCII);
        string statusLine = await reader.ReadLineAsync() ?? "";
        return int.Parse(statusLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
