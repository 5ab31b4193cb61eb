using System.Security.Cryptography;
using System.Text;
using Autonomic.Core.Abstractions;

namespace Autonomic.Integration.Tests.Objects;

/// <summary>
/// What every <see cref="IObjectStore"/> promises, run against each backend by a subclass: round trips with their
/// SHA-256, listing in key order, copy, delete, checksum verification, key validation, large streamed objects and
/// atomic replacement under concurrent readers.
/// </summary>
public abstract class ObjectStoreContract : IAsyncLifetime
{
    private IObjectStore? _store;

    protected IObjectStore Store => _store!;

    /// <summary>A fresh, empty store.</summary>
    protected abstract Task<IObjectStore> CreateStoreAsync();

    public async Task InitializeAsync() => _store = await CreateStoreAsync();

    public virtual Task DisposeAsync()
    {
        (_store as IDisposable)?.Dispose();
        return Task.CompletedTask;
    }

    protected static string Sha(byte[] data) => Convert.ToHexStringLower(SHA256.HashData(data));

    protected static async Task<(ObjectInfo Info, byte[] Data)> ReadAllAsync(IObjectStore store, string key)
    {
        var got = await store.GetAsync(key) ?? throw new Xunit.Sdk.XunitException($"object '{key}' not found");
        await using var content = got.Content;
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer);
        return (got.Info, buffer.ToArray());
    }

    [Fact]
    public async Task Put_then_get_returns_the_content_with_its_size_digest_and_type()
    {
        byte[] data = Encoding.UTF8.GetBytes("hello, objects\n");
        var put = await Store.PutAsync("docs/hello.txt", new MemoryStream(data), "text/plain");
        Assert.Equal(("docs/hello.txt", data.Length, Sha(data), "text/plain"), (put.Key, put.Size, put.Sha256, put.ContentType));

        var (info, read) = await ReadAllAsync(Store, "docs/hello.txt");
        Assert.Equal(data, read);
        Assert.Equal((put.Key, put.Size, put.Sha256, put.ContentType), (info.Key, info.Size, info.Sha256, info.ContentType));

        var head = await Store.HeadAsync("docs/hello.txt");
        Assert.NotNull(head);
        Assert.Equal((data.Length, Sha(data), "text/plain"), (head.Size, head.Sha256, head.ContentType));
        Assert.InRange(head.LastModified, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));
    }

    [Fact]
    public async Task An_empty_object_without_a_type_is_stored_as_octet_stream()
    {
        var put = await Store.PutAsync("empty", new MemoryStream());
        Assert.Equal((0L, Sha([]), "application/octet-stream"), (put.Size, put.Sha256, put.ContentType));
        var (info, data) = await ReadAllAsync(Store, "empty");
        Assert.Empty(data);
        Assert.Equal("application/octet-stream", info.ContentType);
    }

    [Fact]
    public async Task Missing_objects_are_null_and_deleting_them_is_false()
    {
        Assert.Null(await Store.GetAsync("nope/never"));
        Assert.Null(await Store.HeadAsync("nope/never"));
        Assert.Null(await Store.CopyAsync("nope/never", "elsewhere"));
        Assert.False(await Store.DeleteAsync("nope/never"));
    }

    [Fact]
    public async Task A_put_replaces_the_object_and_a_delete_removes_it()
    {
        await Store.PutAsync("k", new MemoryStream("one"u8.ToArray()));
        await Store.PutAsync("k", new MemoryStream("second"u8.ToArray()), "text/plain");
        var (info, data) = await ReadAllAsync(Store, "k");
        Assert.Equal("second", Encoding.UTF8.GetString(data));
        Assert.Equal(6, info.Size);

        Assert.True(await Store.DeleteAsync("k"));
        Assert.Null(await Store.HeadAsync("k"));
        Assert.False(await Store.DeleteAsync("k"));
    }

    [Fact]
    public async Task A_key_and_a_key_below_it_live_side_by_side()
    {
        await Store.PutAsync("a", new MemoryStream("file a"u8.ToArray()));
        await Store.PutAsync("a/b", new MemoryStream("file a/b"u8.ToArray()));
        Assert.Equal("file a", Encoding.UTF8.GetString((await ReadAllAsync(Store, "a")).Data));
        Assert.Equal("file a/b", Encoding.UTF8.GetString((await ReadAllAsync(Store, "a/b")).Data));
        Assert.True(await Store.DeleteAsync("a/b"));
        Assert.NotNull(await Store.HeadAsync("a"));
    }

    [Fact]
    public async Task List_gives_keys_with_the_prefix_in_key_order_up_to_the_limit()
    {
        string[] keys = ["b", "a/x", "a-c", "a/b/c", "a", "ab", "a/b/a", "é", "z/y"];
        foreach (string key in keys)
        {
            await Store.PutAsync(key, new MemoryStream(Encoding.UTF8.GetBytes("content of " + key)));
        }

        var all = await Store.ListAsync("", 100);
        Assert.Equal(keys.Order(StringComparer.Ordinal), all.Select(o => o.Key));
        var first = all.Single(o => o.Key == "a/b/c");
        Assert.Equal(Sha(Encoding.UTF8.GetBytes("content of a/b/c")), first.Sha256);

        Assert.Equal(["a/b/a", "a/b/c", "a/x"], (await Store.ListAsync("a/", 100)).Select(o => o.Key));
        Assert.Equal(["a/b/a", "a/b/c"], (await Store.ListAsync("a/b", 100)).Select(o => o.Key));
        Assert.Equal(["a", "a-c", "a/b/a"], (await Store.ListAsync("a", 3)).Select(o => o.Key));
        Assert.Empty(await Store.ListAsync("q", 10));
    }

    [Fact]
    public async Task Copy_duplicates_content_and_type_and_leaves_the_source()
    {
        byte[] data = RandomNumberGenerator.GetBytes(100_000);
        await Store.PutAsync("src/data.bin", new MemoryStream(data), "application/x-test");
        var copy = await Store.CopyAsync("src/data.bin", "dst/copy.bin");
        Assert.NotNull(copy);
        Assert.Equal(("dst/copy.bin", data.Length, Sha(data), "application/x-test"), (copy.Key, copy.Size, copy.Sha256, copy.ContentType));
        Assert.Equal(data, (await ReadAllAsync(Store, "dst/copy.bin")).Data);
        Assert.Equal(data, (await ReadAllAsync(Store, "src/data.bin")).Data);
    }

    [Fact]
    public async Task A_wrong_expected_digest_stores_nothing_and_keeps_the_old_object()
    {
        byte[] data = "the real content"u8.ToArray();
        string wrong = Sha("something else"u8.ToArray());
        await Assert.ThrowsAsync<InvalidDataException>(() => Store.PutAsync("checked", new MemoryStream(data), expectedSha256: wrong));
        Assert.Null(await Store.HeadAsync("checked"));

        await Store.PutAsync("checked", new MemoryStream("old"u8.ToArray()));
        await Assert.ThrowsAsync<InvalidDataException>(() => Store.PutAsync("checked", new MemoryStream(data), expectedSha256: wrong));
        Assert.Equal("old", Encoding.UTF8.GetString((await ReadAllAsync(Store, "checked")).Data));

        var ok = await Store.PutAsync("checked", new MemoryStream(data), expectedSha256: Sha(data).ToUpperInvariant());
        Assert.Equal(Sha(data), ok.Sha256);
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("/etc/passwd")]
    [InlineData("a/../../b")]
    [InlineData("a/./b")]
    [InlineData("..")]
    [InlineData("a\\b")]
    [InlineData("..\\..\\x")]
    [InlineData("")]
    [InlineData("a//b")]
    [InlineData("trailing/")]
    [InlineData("nul\0byte")]
    [InlineData("line\nbreak")]
    [InlineData(".autonomic-staging/x")]
    public async Task Keys_that_could_escape_or_are_malformed_are_refused(string key)
    {
        var put = await Assert.ThrowsAsync<ArgumentException>(() => Store.PutAsync(key, new MemoryStream("x"u8.ToArray())));
        Assert.Contains("key", put.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => Store.GetAsync(key));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.HeadAsync(key));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.DeleteAsync(key));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.CopyAsync("fine", key));
        await Assert.ThrowsAsync<ArgumentException>(() => Store.CopyAsync(key, "fine"));
        Assert.Empty(await Store.ListAsync("", 10));
    }

    [Fact]
    public void A_key_of_1025_bytes_is_refused_and_1024_is_fine()
    {
        Assert.Null(ObjectKeys.Problem(new string('k', 1024)));
        Assert.Contains("1024 bytes", ObjectKeys.Problem(new string('k', 1025)), StringComparison.Ordinal);
        Assert.Contains("1024 bytes", ObjectKeys.Problem(new string('é', 513)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_64_MiB_streamed_object_round_trips_with_its_digest(bool withExpectedDigest)
    {
        const long size = 64L * 1024 * 1024;
        string sha = GeneratedStream.Sha256Of(size, seed: 7);
        var put = await Store.PutAsync("big/blob.bin", new GeneratedStream(size, seed: 7), "application/octet-stream", withExpectedDigest ? sha : null);
        Assert.Equal((size, sha), (put.Size, put.Sha256));

        var got = await Store.GetAsync("big/blob.bin");
        Assert.NotNull(got);
        await using var content = got.Value.Content;
        Assert.Equal((size, sha), (got.Value.Info.Size, got.Value.Info.Sha256));
        Assert.Equal(sha, Convert.ToHexStringLower(await SHA256.HashDataAsync(content)));
        Assert.Equal(["big/blob.bin"], (await Store.ListAsync("", 10)).Select(o => o.Key));
    }

    [Fact]
    public async Task A_64_MiB_object_with_a_wrong_digest_leaves_nothing_behind()
    {
        const long size = 64L * 1024 * 1024;
        await Assert.ThrowsAsync<InvalidDataException>(() =>
            Store.PutAsync("big/wrong.bin", new GeneratedStream(size, seed: 8), expectedSha256: new string('0', 64)));
        Assert.Null(await Store.HeadAsync("big/wrong.bin"));
        Assert.Empty(await Store.ListAsync("", 10));
    }

    /// <summary>True where the server itself writes in place, so a reader can catch an object mid-write (see the S3 tests).</summary>
    protected virtual bool ServerWritesInPlace => false;

    [Fact]
    public async Task Concurrent_readers_see_the_old_or_the_new_object_never_a_mix()
    {
        byte[] v1 = Enumerable.Repeat((byte)'a', 3 * 1024 * 1024).ToArray();
        byte[] v2 = Enumerable.Repeat((byte)'b', 2 * 1024 * 1024 + 17).ToArray();
        await Store.PutAsync("hot", new MemoryStream(v1));
        using var stop = new CancellationTokenSource();
        int reads = 0, tornDetected = 0;
        async Task ReadLoop()
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    var (info, data) = await ReadAllAsync(Store, "hot");
                    bool whole = (data.Length == v1.Length && data.All(b => b == 'a') && info.Sha256 == Sha(v1))
                        || (data.Length == v2.Length && data.All(b => b == 'b') && info.Sha256 == Sha(v2));
                    Assert.True(whole, $"a reader saw {data.Length} bytes ({data.Count(b => b == 'a')} 'a', {data.Count(b => b == 'b')} 'b') for an object recorded as {info.Size} bytes");
                    Interlocked.Increment(ref reads);
                }
                catch (Exception e) when (ServerWritesInPlace && e is InvalidDataException or IOException or Amazon.Runtime.AmazonClientException)
                {
                    // The store (or the SDK's own checksum) noticed the torn read and failed it instead of delivering it.
                    Interlocked.Increment(ref tornDetected);
                }
            }
        }

        Task[] readers = [.. Enumerable.Range(0, 3).Select(_ => Task.Run(ReadLoop))];
        for (int i = 0; i < 20; i++)
        {
            await Store.PutAsync("hot", new MemoryStream(i % 2 == 0 ? v2 : v1));
        }

        await Eventually.WaitAsync(() => Volatile.Read(ref reads) >= 10, TimeSpan.FromSeconds(30), "readers to finish some reads");
        await stop.CancelAsync();
        await Task.WhenAll(readers);
        Assert.True(reads >= 10, $"only {reads} complete reads ({tornDetected} torn reads detected)");
    }
}
