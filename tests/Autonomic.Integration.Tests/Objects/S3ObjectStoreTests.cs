using Autonomic.Backends.Objects;
using Autonomic.Core.Abstractions;

namespace Autonomic.Integration.Tests.Objects;

/// <summary>The contract against a real s3rver, each test on its own bucket; 64 MiB objects go up in 8 MiB parts.</summary>
public sealed class S3ObjectStoreTests(S3rverFixture s3) : ObjectStoreContract, IClassFixture<S3rverFixture>
{
    protected override Task<IObjectStore> CreateStoreAsync() => Task.FromResult<IObjectStore>(s3.CreateStore());

    /// <summary>
    /// s3rver writes an object's file in place (unlike S3, which shows a new version only when it is complete), so
    /// a reader can catch one mid-write; the store's digest check must then fail that read rather than deliver it.
    /// </summary>
    protected override bool ServerWritesInPlace => true;

    [Fact]
    public async Task The_digest_is_stored_as_user_metadata_and_the_bucket_is_created()
    {
        using var store = s3.CreateStore("made-on-first-put");
        var put = await store.PutAsync("x/y.txt", new MemoryStream("hi"u8.ToArray()), "text/plain");
        using var http = new HttpClient();
        // s3rver accepts unsigned requests, so the object's own headers can be read as stored.
        using var response = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri(s3.Url, "/made-on-first-put/x/y.txt")));
        Assert.True(response.IsSuccessStatusCode, response.StatusCode.ToString());
        Assert.Equal(put.Sha256, response.Headers.GetValues("x-amz-meta-sha256").Single());
        Assert.Equal("text/plain", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Large_uploads_without_a_digest_leave_no_staging_object()
    {
        using var store = s3.CreateStore(partSize: 5 * 1024 * 1024);
        const long size = 12L * 1024 * 1024;
        var put = await store.PutAsync("staged.bin", new GeneratedStream(size, seed: 3));
        Assert.Equal(GeneratedStream.Sha256Of(size, seed: 3), put.Sha256);
        Assert.Equal(put.Sha256, (await store.HeadAsync("staged.bin"))!.Sha256);
        // The bucket itself, listed without the store (which hides the staging prefix), holds only the object.
        using var http = new HttpClient();
        string listing = await http.GetStringAsync(new Uri(s3.Url, $"/{store.Bucket}?list-type=2"));
        Assert.Contains("<Key>staged.bin</Key>", listing, StringComparison.Ordinal);
        Assert.DoesNotContain("staging", listing, StringComparison.Ordinal);
    }

    [Fact]
    public void A_part_size_below_the_S3_minimum_is_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => s3.CreateStore(partSize: 1024 * 1024));
        Assert.Contains("5 MiB", e.Message, StringComparison.Ordinal);
    }
}
