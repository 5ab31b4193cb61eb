using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Autonomic.Backends.Objects;
using Autonomic.Core.Abstractions;
using Autonomic.Gateway.Objects;
using Microsoft.AspNetCore.StaticFiles;
using Spectre.Console;

namespace Autonomic.Cli.Commands;

/// <summary>
/// <c>autonomic upload FILE</c> and <c>autonomic objects ls|get|rm|stores</c>: the object stores through the API.
/// Uploads hash the file in a first pass (a local file reads far faster than it uploads) and send the digest as
/// <c>X-Checksum-Sha256</c>, so the control plane stores nothing unless what arrived is what was sent.
/// </summary>
internal static class ObjectsCommand
{
    private const int BufferSize = 256 * 1024;

    public static Command CreateUpload(ClientRunner runner)
    {
        var file = new Argument<string>("file") { Description = "The file to upload" };
        file.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } f && !File.Exists(f))
            {
                r.AddError($"no such file: '{f}'");
            }
        });
        var key = KeyOption("--key", "The object's key (default: the file's name)");
        var store = StoreOption();
        var type = new Option<string?>("--content-type") { Description = "The content type (default: from the file's extension)" };
        var json = new Option<bool>("--json") { Description = "Print the API's JSON" };
        var command = new Command("upload", "Upload a file to an object store, streamed, with its SHA-256 checked by the control plane") { file, key, store, type, json };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var path = parse.GetValue(file)!;
            var objectKey = parse.GetValue(key) ?? Path.GetFileName(path);
            if (ObjectKeys.Problem(objectKey) is { } problem)
            {
                await runner.Context.Error.WriteLineAsync($"error: invalid key '{objectKey}': {problem}; choose one with --key");
                return 2;
            }

            var storeName = await ResolveStoreAsync(client, parse.GetValue(store), ct);
            var contentType = parse.GetValue(type) ?? (new FileExtensionContentTypeProvider().TryGetContentType(path, out var guessed) ? guessed : "application/octet-stream");
            string text;
            try
            {
                text = await UploadAsync(runner.Context, client, path, storeName, objectKey, contentType, ct);
            }
            catch (IOException e) when (e is not HttpIOException)
            {
                await runner.Context.Error.WriteLineAsync($"error: cannot read '{path}': {e.Message}");
                return 1;
            }

            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            var info = ApiClient.Parse<ObjectInfo>(text);
            await runner.Context.Out.WriteLineAsync($"stored {storeName}/{info.Key}: {info.Size} bytes, sha256 {info.Sha256}");
            return 0;
        }, Timeout.InfiniteTimeSpan));
        return command;
    }

    public static Command Create(ClientRunner runner)
    {
        var command = new Command("objects", "List, download and delete objects in the control plane's object stores");
        command.Subcommands.Add(CreateStores(runner));
        command.Subcommands.Add(CreateList(runner));
        command.Subcommands.Add(CreateGet(runner));
        command.Subcommands.Add(CreateRemove(runner));
        return command;
    }

    private static Command CreateStores(ClientRunner runner)
    {
        var json = new Option<bool>("--json") { Description = "Print the API's JSON" };
        var command = new Command("stores", "List the object stores") { json };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var text = await client.GetTextAsync("api/v1/objects", ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            var table = new Table().Border(TableBorder.Rounded).AddColumn("store").AddColumn("kind").AddColumn("default");
            foreach (var s in ApiClient.Parse<List<ObjectStoreView>>(text))
            {
                table.AddRow(new Text(s.Name), new Text(s.Kind), new Text(s.Default ? "yes" : ""));
            }

            runner.Context.Console.Write(table);
            return 0;
        }));
        return command;
    }

    private static Command CreateList(ClientRunner runner)
    {
        var store = StoreOption();
        var prefix = new Option<string?>("--prefix", "-p") { Description = "Only keys that start with this" };
        var limit = new Option<int>("--limit", "-n") { Description = "At most this many (1-1000)", DefaultValueFactory = _ => 100 };
        limit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 1000)
            {
                r.AddError("--limit must be from 1 to 1000");
            }
        });
        var json = new Option<bool>("--json") { Description = "Print the API's JSON" };
        var command = new Command("ls", "List objects in key order") { store, prefix, limit, json };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var storeName = await ResolveStoreAsync(client, parse.GetValue(store), ct);
            var query = $"limit={parse.GetValue(limit)}" + (parse.GetValue(prefix) is { Length: > 0 } p ? "&prefix=" + Uri.EscapeDataString(p) : "");
            var text = await client.GetTextAsync($"api/v1/objects/{Uri.EscapeDataString(storeName)}?{query}", ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            var objects = ApiClient.Parse<List<ObjectInfo>>(text);
            var table = new Table().Border(TableBorder.Rounded);
            foreach (var column in new[] { "key", "size", "sha256", "type", "modified" })
            {
                table.AddColumn(column);
            }

            foreach (var o in objects)
            {
                table.AddRow(new Text(o.Key), new Text(o.Size.ToString(CultureInfo.InvariantCulture)), new Text(o.Sha256.Length >= 12 ? o.Sha256[..12] : "-"), new Text(o.ContentType), new Text(Format.Time(o.LastModified)));
            }

            runner.Context.Console.Write(table);
            runner.Context.Console.Write(new Text($"{objects.Count} objects in {storeName}\n"));
            return 0;
        }));
        return command;
    }

    private static Command CreateGet(ClientRunner runner)
    {
        var key = KeyArgument();
        var output = new Option<string?>("--output", "-o") { Description = "Where to write it (default: the key's last segment, in the current directory)" };
        var store = StoreOption();
        var command = new Command("get", "Download an object (its SHA-256 is checked)") { key, output, store };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var objectKey = parse.GetValue(key)!;
            var path = parse.GetValue(output) ?? objectKey[(objectKey.LastIndexOf('/') + 1)..];
            var storeName = await ResolveStoreAsync(client, parse.GetValue(store), ct);
            using var response = await client.SendStreamingAsync(() => new HttpRequestMessage(HttpMethod.Get, ObjectPath(storeName, objectKey)), ct);
            var expected = response.Headers.ETag?.Tag.Trim('"');
            // Written beside the destination and renamed at the end: an interrupted download leaves no half file.
            var temp = path + ".part";
            try
            {
                string sha;
                long size;
                await using (var body = await response.Content.ReadAsStreamAsync(ct))
                await using (var file = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous))
                {
                    (size, sha) = await CopyHashingAsync(body, file, ct);
                }

                if (expected is { Length: 64 } && !string.Equals(sha, expected, StringComparison.OrdinalIgnoreCase))
                {
                    File.Delete(temp);
                    await runner.Context.Error.WriteLineAsync($"error: the download's SHA-256 is {sha}, the store says {expected}; nothing was written");
                    return 1;
                }

                File.Move(temp, path, overwrite: true);
                await runner.Context.Out.WriteLineAsync($"wrote {path}: {size} bytes, sha256 {sha}");
                return 0;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException && e is not HttpIOException)
            {
                File.Delete(temp);
                await runner.Context.Error.WriteLineAsync($"error: cannot write '{path}': {e.Message}");
                return 1;
            }
        }, Timeout.InfiniteTimeSpan));
        return command;
    }

    private static Command CreateRemove(ClientRunner runner)
    {
        var key = KeyArgument();
        var store = StoreOption();
        var command = new Command("rm", "Delete an object") { key, store };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var objectKey = parse.GetValue(key)!;
            var storeName = await ResolveStoreAsync(client, parse.GetValue(store), ct);
            using var response = await client.SendStreamingAsync(() => new HttpRequestMessage(HttpMethod.Delete, ObjectPath(storeName, objectKey)), ct);
            await runner.Context.Out.WriteLineAsync($"deleted {storeName}/{objectKey}");
            return 0;
        }));
        return command;
    }

    private static async Task<string> UploadAsync(CliContext context, ApiClient client, string path, string store, string key, string contentType, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var length = file.Length;
        var interactive = context.Console.Profile.Capabilities.Interactive;
        string sha = "";
        string text = "";
        async Task Run(Action<string, long> report)
        {
            sha = await HashAsync(new ProgressStream(file, n => report("hashing", n)), ct);
            file.Position = 0;
            var body = new ProgressStream(file, n => report("uploading", n));
            using var response = await client.SendStreamingAsync(() =>
            {
                var content = new StreamContent(body, BufferSize);
                content.Headers.ContentLength = length;
                content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
                var request = new HttpRequestMessage(HttpMethod.Put, ObjectPath(store, key)) { Content = content };
                request.Headers.Add(ObjectsEndpoints.ChecksumHeader, sha);
                return request;
            }, ct);
            text = await response.Content.ReadAsStringAsync(ct);
        }

        if (interactive)
        {
            await context.Console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(async progress =>
                {
                    var hashing = progress.AddTask("hashing", maxValue: Math.Max(1, length));
                    var uploading = progress.AddTask("uploading", maxValue: Math.Max(1, length));
                    await Run((phase, n) => (phase == "hashing" ? hashing : uploading).Value = n);
                    hashing.Value = hashing.MaxValue;
                    uploading.Value = uploading.MaxValue;
                });
        }
        else
        {
            // Piped: a plain line every few seconds on stderr, so stdout holds only the result.
            var last = context.Time.GetTimestamp();
            await Run((phase, n) =>
            {
                if (context.Time.GetElapsedTime(last) >= TimeSpan.FromSeconds(2))
                {
                    last = context.Time.GetTimestamp();
                    context.Error.WriteLine($"{phase} {Mib(n)} of {Mib(length)} MiB ({(length == 0 ? 100 : n * 100 / length)}%)");
                }
            });
        }

        return text;
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("0.0", CultureInfo.InvariantCulture);

    private static async Task<string> HashAsync(Stream stream, CancellationToken ct)
    {
        using var sha = SHA256.Create();
        return Convert.ToHexStringLower(await sha.ComputeHashAsync(stream, ct));
    }

    private static async Task<(long Size, string Sha256)> CopyHashingAsync(Stream source, Stream destination, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[BufferSize];
        long size = 0;
        int read;
        while ((read = await source.ReadAsync(buffer, ct)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            await destination.WriteAsync(buffer.AsMemory(0, read), ct);
            size += read;
        }

        return (size, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    /// <summary>Which store: the one named, else the control plane's default.</summary>
    private static async Task<string> ResolveStoreAsync(ApiClient client, string? store, CancellationToken ct)
    {
        if (store is not null)
        {
            return store;
        }

        var stores = ApiClient.Parse<List<ObjectStoreView>>(await client.GetTextAsync("api/v1/objects", ct));
        return stores.FirstOrDefault(s => s.Default)?.Name ?? throw new ApiProblemException(404, "no object stores", "the control plane has no object stores");
    }

    private static string ObjectPath(string store, string key) =>
        $"api/v1/objects/{Uri.EscapeDataString(store)}/{string.Join('/', key.Split('/').Select(Uri.EscapeDataString))}";

    private static Option<string?> StoreOption() => new("--store", "-s") { Description = "The object store (default: the control plane's default store)" };

    private static Option<string?> KeyOption(string name, string description)
    {
        var option = new Option<string?>(name) { Description = description };
        option.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } k && ObjectKeys.Problem(k) is { } problem)
            {
                r.AddError($"invalid key '{k}': {problem}");
            }
        });
        return option;
    }

    private static Argument<string> KeyArgument()
    {
        var argument = new Argument<string>("key") { Description = "The object's key, e.g. photos/cat.jpg" };
        argument.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string>() is { } k && ObjectKeys.Problem(k) is { } problem)
            {
                r.AddError($"invalid key '{k}': {problem}");
            }
        });
        return argument;
    }

    /// <summary>Reports how many bytes have been read through it. The file belongs to the caller, which reads it twice.</summary>
    private sealed class ProgressStream(Stream inner, Action<long> report) : PassThroughReadStream(inner, ownsInner: false)
    {
        protected override void OnRead(ReadOnlySpan<byte> data) => report(BytesRead);
    }
}
