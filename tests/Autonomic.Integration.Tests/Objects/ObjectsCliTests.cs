using System.Security.Cryptography;
using Autonomic.Cli;
using Autonomic.Cli.Commands;

namespace Autonomic.Integration.Tests.Objects;

/// <summary>`autonomic upload` and `autonomic objects ...` in process against a real gateway.</summary>
public sealed class ObjectsCliTests(ObjectsGatewayFixture fx) : IClassFixture<ObjectsGatewayFixture>, IDisposable
{
    private readonly string _work = Directory.CreateTempSubdirectory("autonomic-objects-cli-").FullName;

    private sealed record Run(int ExitCode, string Out, string Error);

    private async Task<Run> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync([.. args, "--api", fx.Address.ToString()], CliContext.ForWriters(output, error));
        return new Run(code, output.ToString(), error.ToString());
    }

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Theory]
    [InlineData(null)]
    [InlineData("s3")]
    public async Task Upload_list_get_and_remove_a_file(string? store)
    {
        byte[] data = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 5);
        string sha = Convert.ToHexStringLower(SHA256.HashData(data));
        string file = Path.Combine(_work, "photo.jpg");
        await File.WriteAllBytesAsync(file, data);
        string[] storeArgs = store is null ? [] : ["--store", store];
        string key = $"cli/{store ?? "default"}/photo.jpg";

        var upload = await RunAsync(["upload", file, "--key", key, .. storeArgs]);
        Assert.True(upload.ExitCode == 0, upload.Error);
        Assert.Equal($"stored {store ?? "local"}/{key}: {data.Length} bytes, sha256 {sha}", upload.Out.Trim());
        var info = await fx.Stores.Get(store ?? "local")!.HeadAsync(key);
        Assert.Equal(("image/jpeg", sha), (info!.ContentType, info.Sha256));

        var ls = await RunAsync(["objects", "ls", "--prefix", "cli/", .. storeArgs]);
        Assert.Equal(0, ls.ExitCode);
        Assert.Contains(key, ls.Out, StringComparison.Ordinal);
        Assert.Contains(sha[..12], ls.Out, StringComparison.Ordinal);

        string copy = Path.Combine(_work, "copy.jpg");
        var get = await RunAsync(["objects", "get", key, "-o", copy, .. storeArgs]);
        Assert.True(get.ExitCode == 0, get.Error);
        Assert.Equal(data, await File.ReadAllBytesAsync(copy));
        Assert.False(File.Exists(copy + ".part"));

        var rm = await RunAsync(["objects", "rm", key, .. storeArgs]);
        Assert.Equal(0, rm.ExitCode);
        var again = await RunAsync(["objects", "get", key, "-o", copy, .. storeArgs]);
        Assert.Equal(1, again.ExitCode);
        Assert.StartsWith("error: object not found", again.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Usage_errors_exit_2_with_one_line()
    {
        var missing = await RunAsync("upload", Path.Combine(_work, "no-such-file"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("no such file", missing.Error, StringComparison.Ordinal);

        string file = Path.Combine(_work, "x.txt");
        await File.WriteAllTextAsync(file, "x");
        var badKey = await RunAsync("upload", file, "--key", "../etc/passwd");
        Assert.Equal(2, badKey.ExitCode);
        Assert.Contains("'.' or '..' segments", badKey.Error, StringComparison.Ordinal);

        var badGet = await RunAsync("objects", "get", "/abs");
        Assert.Equal(2, badGet.ExitCode);
    }

    [Fact]
    public async Task An_unknown_store_exits_1_with_the_api_error()
    {
        string file = Path.Combine(_work, "y.txt");
        await File.WriteAllTextAsync(file, "y");
        var run = await RunAsync("upload", file, "--store", "nope");
        Assert.Equal(1, run.ExitCode);
        Assert.StartsWith("error: unknown object store: no object store is named 'nope'", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stores_lists_every_store()
    {
        var run = await RunAsync("objects", "stores");
        Assert.Equal(0, run.ExitCode);
        Assert.Contains("local", run.Out, StringComparison.Ordinal);
        Assert.Contains("directory", run.Out, StringComparison.Ordinal);
        Assert.Contains("s3", run.Out, StringComparison.Ordinal);
    }
}
