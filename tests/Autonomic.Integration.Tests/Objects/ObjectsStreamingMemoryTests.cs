using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Autonomic.Backends.Objects;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Xunit.Abstractions;

namespace Autonomic.Integration.Tests.Objects;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MemoryMeasurementCollection
{
    /// <summary>Tests that measure this process's heap run alone, after the parallel ones.</summary>
    public const string Name = "memory measurement";
}

/// <summary>
/// A 1 GiB upload and download through the real Kestrel gateway into the directory store, from a generated stream:
/// the gateway never holds the object, so the process's managed heap must stay nearly flat.
/// </summary>
[Collection(MemoryMeasurementCollection.Name)]
public sealed class ObjectsStreamingMemoryTests(ObjectsGatewayFixture fx, ITestOutputHelper output) : IClassFixture<ObjectsGatewayFixture>
{
    private const long Size = 1L << 30;
    private const long AllowedGrowth = 64L << 20;

    [Fact]
    public async Task A_1_GiB_upload_and_download_keep_managed_memory_growth_under_64_MiB()
    {
        string sha = GeneratedStream.Sha256Of(Size, seed: 42);
        using var http = new HttpClient { BaseAddress = fx.Address, Timeout = TimeSpan.FromMinutes(5) };

        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        long baseline = GC.GetTotalMemory(forceFullCollection: true);
        long peak = baseline;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                long now = GC.GetTotalMemory(forceFullCollection: false);
                if (now > Interlocked.Read(ref peak))
                {
                    Interlocked.Exchange(ref peak, now);
                }

                await Task.Delay(10);
            }
        });

        var watch = Stopwatch.StartNew();
        var content = new StreamContent(new GeneratedStream(Size, seed: 42), 128 * 1024);
        content.Headers.ContentLength = Size;
        using var put = await http.SendAsync(new HttpRequestMessage(HttpMethod.Put, "/api/v1/objects/local/big/1gib.bin")
        {
            Content = content,
            Headers = { { "X-Checksum-Sha256", sha } },
        });
        TimeSpan uploadTime = watch.Elapsed;
        Assert.True(put.StatusCode == HttpStatusCode.Created, await put.Content.ReadAsStringAsync());
        var info = JsonSerializer.Deserialize<ObjectInfo>(await put.Content.ReadAsStringAsync(), JsonDefaults.Options)!;
        Assert.Equal((Size, sha), (info.Size, info.Sha256));

        watch.Restart();
        using (var get = await http.GetAsync("/api/v1/objects/local/big/1gib.bin", HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(Size, get.Content.Headers.ContentLength);
            await using var body = await get.Content.ReadAsStreamAsync();
            Assert.Equal(sha, Convert.ToHexStringLower(await SHA256.HashDataAsync(body)));
        }

        TimeSpan downloadTime = watch.Elapsed;
        await stop.CancelAsync();
        await sampler;
        long growth = Interlocked.Read(ref peak) - baseline;
        output.WriteLine($"1 GiB up in {uploadTime.TotalSeconds:0.0} s ({1024 / uploadTime.TotalSeconds:0} MiB/s), down and hashed in {downloadTime.TotalSeconds:0.0} s; managed heap {baseline >> 20} MiB at start, peak growth {growth >> 20} MiB");
        Assert.True(growth < AllowedGrowth, $"the managed heap grew by {growth >> 20} MiB while 1 GiB went through the gateway (allowed {AllowedGrowth >> 20} MiB)");
        Assert.True(await fx.Stores.Get("local")!.DeleteAsync("big/1gib.bin"));
    }
}
