using System.Buffers;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Autonomic.Core.Abstractions;

namespace Autonomic.Backends.Objects;

/// <summary>
/// Objects as files under one directory: the embedded default. Key <c>a/b/c.txt</c> lives at
/// <c>ROOT/objects/a.d/b.d/c.txt.obj</c> (the suffixes keep key <c>a</c> and key <c>a/b</c> apart). Each file is
/// a 1 KiB header (size, SHA-256, content type, time as JSON) followed by the content, so the metadata is always
/// that of the content beside it. A write streams into <c>ROOT/tmp</c> while hashing, fsyncs, and renames over the
/// old file: readers see the old object or the new one, a crash leaves at most a stray temporary file.
/// </summary>
public sealed class DirectoryObjectStore : IObjectStore
{
    /// <summary>Bytes before the content in every object file.</summary>
    public const int HeaderSize = 1024;

    // A segment becomes a file name with a suffix; Linux allows 255 bytes.
    private const int MaxSegmentBytes = 250;
    private const string ObjectSuffix = ".obj";
    private const string DirectorySuffix = ".d";
    private const int CopyBufferSize = 128 * 1024;
    private static readonly byte[] Magic = "AUTONOMIC-OBJECT 1\n"u8.ToArray();

    private readonly string _objects;
    private readonly string _tmp;
    private readonly TimeProvider _time;

    /// <summary>A store under <paramref name="root"/> (created when missing).</summary>
    public DirectoryObjectStore(string root, TimeProvider? time = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        Root = Path.GetFullPath(root);
        _objects = Path.Combine(Root, "objects");
        _tmp = Path.Combine(Root, "tmp");
        _time = time ?? TimeProvider.System;
        Directory.CreateDirectory(_objects);
        Directory.CreateDirectory(_tmp);
        RemoveStaleTemporaryFiles();
    }

    /// <summary>The store's directory.</summary>
    public string Root { get; }

    public string Kind => "directory";

    public async Task<ObjectInfo> PutAsync(string key, Stream content, string? contentType = null, string? expectedSha256 = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        string final = PathOf(key);
        string type = ObjectKeys.ContentType(contentType);
        string? expected = Sha256Hex.Normalize(expectedSha256);
        string temp = Path.Combine(_tmp, Guid.NewGuid().ToString("N") + ".part");
        try
        {
            ObjectInfo info;
            var file = new FileStream(temp, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize: 0, FileOptions.Asynchronous);
            await using (file.ConfigureAwait(false))
            {
                await file.WriteAsync(new byte[HeaderSize], cancellationToken).ConfigureAwait(false);
                (long size, string sha) = await CopyHashingAsync(content, file, cancellationToken).ConfigureAwait(false);
                if (expected is not null && sha != expected)
                {
                    throw new InvalidDataException($"the content's SHA-256 is {sha}, not the expected {expected}; nothing was stored");
                }

                info = new ObjectInfo(key, size, sha, type, _time.GetUtcNow());
                file.Position = 0;
                await file.WriteAsync(Header(info), cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }

            MoveIntoPlace(temp, final);
            return info;
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    public Task<(ObjectInfo Info, Stream Content)?> GetAsync(string key, CancellationToken cancellationToken = default)
    {
        string path = PathOf(key);
        FileStream? file = OpenOrNull(path, FileOptions.Asynchronous | FileOptions.SequentialScan);
        if (file is null)
        {
            return Task.FromResult<(ObjectInfo, Stream)?>(null);
        }

        try
        {
            ObjectInfo info = ReadHeader(file, key, path);
            if (file.Length != HeaderSize + info.Size)
            {
                throw new InvalidDataException($"object file {path} holds {file.Length - HeaderSize} bytes of content, its header says {info.Size}");
            }

            return Task.FromResult<(ObjectInfo, Stream)?>((info, new SliceReadStream(file, HeaderSize, info.Size)));
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    public Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default) =>
        Task.FromResult(HeadAt(PathOf(key), key));

    public Task<IReadOnlyList<ObjectInfo>> ListAsync(string prefix, int limit, CancellationToken cancellationToken = default)
    {
        ObjectKeys.ValidatePrefix(prefix);
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        var results = new List<ObjectInfo>();
        Walk(_objects, "", prefix, limit, results, cancellationToken);
        return Task.FromResult<IReadOnlyList<ObjectInfo>>(results);
    }

    public async Task<ObjectInfo?> CopyAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default)
    {
        PathOf(destinationKey);
        if (await GetAsync(sourceKey, cancellationToken).ConfigureAwait(false) is not var (info, stream))
        {
            return null;
        }

        await using (stream.ConfigureAwait(false))
        {
            // Re-hashing while copying checks the source on the way.
            return await PutAsync(destinationKey, stream, info.ContentType, info.Sha256, cancellationToken).ConfigureAwait(false);
        }
    }

    public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        string path = PathOf(key);
        // Renaming first makes "was there something" exact when two deletes race.
        string doomed = Path.Combine(_tmp, Guid.NewGuid().ToString("N") + ".deleted");
        try
        {
            File.Move(path, doomed);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Task.FromResult(false);
        }

        TryDelete(doomed);
        RemoveEmptyParents(Path.GetDirectoryName(path)!);
        return Task.FromResult(true);
    }

    /// <summary>The file of <paramref name="key"/>; throws <see cref="ArgumentException"/> for an invalid key.</summary>
    internal string PathOf(string key)
    {
        ObjectKeys.Validate(key);
        string[] segments = key.Split('/');
        var parts = new string[segments.Length + 1];
        parts[0] = _objects;
        for (int i = 0; i < segments.Length; i++)
        {
            if (Encoding.UTF8.GetByteCount(segments[i]) > MaxSegmentBytes)
            {
                throw new ArgumentException($"invalid object key: the directory store takes segments (between '/') of at most {MaxSegmentBytes} bytes", nameof(key));
            }

            parts[i + 1] = segments[i] + (i == segments.Length - 1 ? ObjectSuffix : DirectorySuffix);
        }

        return Path.Combine(parts);
    }

    private static async Task<(long Size, string Sha256)> CopyHashingAsync(Stream source, Stream destination, CancellationToken cancellationToken)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(CopyBufferSize);
        long size = 0;
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, CopyBufferSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                hash.AppendData(buffer, 0, read);
                await destination.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                size += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return (size, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private void MoveIntoPlace(string temp, string final)
    {
        string directory = Path.GetDirectoryName(final)!;
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                Directory.CreateDirectory(directory);
                File.Move(temp, final, overwrite: true);
                break;
            }
            catch (DirectoryNotFoundException) when (attempt < 5)
            {
                // A delete removed the (then empty) directory between the two calls; make it again.
            }
        }

        SyncDirectory(directory);
    }

    private static byte[] Header(ObjectInfo info)
    {
        var buffer = new ArrayBufferWriter<byte>(HeaderSize);
        buffer.Write(Magic);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("size", info.Size);
            json.WriteString("sha256", info.Sha256);
            json.WriteString("contentType", info.ContentType);
            json.WriteString("lastModified", info.LastModified);
            json.WriteEndObject();
        }

        if (buffer.WrittenCount >= HeaderSize)
        {
            throw new ArgumentException("the object's metadata does not fit the header (content type too long)");
        }

        byte[] header = new byte[HeaderSize];
        buffer.WrittenSpan.CopyTo(header);
        header.AsSpan(buffer.WrittenCount).Fill((byte)'\n');
        return header;
    }

    private static ObjectInfo ReadHeader(FileStream file, string key, string path)
    {
        Span<byte> header = stackalloc byte[HeaderSize];
        file.Position = 0;
        file.ReadExactly(header);
        if (!header.StartsWith(Magic))
        {
            throw new InvalidDataException($"{path} is not an object file of this store");
        }

        try
        {
            var reader = new Utf8JsonReader(header[Magic.Length..].TrimEnd((byte)'\n'));
            using var doc = JsonDocument.ParseValue(ref reader);
            JsonElement root = doc.RootElement;
            return new ObjectInfo(
                key,
                root.GetProperty("size").GetInt64(),
                root.GetProperty("sha256").GetString()!,
                root.GetProperty("contentType").GetString()!,
                root.GetProperty("lastModified").GetDateTimeOffset());
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"the header of {path} is damaged", e);
        }
    }

    private static FileStream? OpenOrNull(string path, FileOptions options)
    {
        try
        {
            // FileShare.Delete: a writer may rename a new version over this one while it is being read.
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0, options);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    private static ObjectInfo? HeadAt(string path, string key)
    {
        using FileStream? file = OpenOrNull(path, FileOptions.None);
        return file is null ? null : ReadHeader(file, key, path);
    }

    private void Walk(string directory, string keyPrefix, string prefix, int limit, List<ObjectInfo> results, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var entries = new List<(string SortKey, string Path, bool IsDirectory)>();
        IEnumerable<string> names;
        try
        {
            names = Directory.EnumerateFileSystemEntries(directory).ToList();
        }
        catch (DirectoryNotFoundException)
        {
            return; // deleted while listing
        }

        foreach (string path in names)
        {
            string name = Path.GetFileName(path);
            if (name.EndsWith(ObjectSuffix, StringComparison.Ordinal))
            {
                entries.Add((name[..^ObjectSuffix.Length], path, false));
            }
            else if (name.EndsWith(DirectorySuffix, StringComparison.Ordinal))
            {
                // A directory's keys all continue with '/', which is what puts them in S3's order among the files.
                entries.Add((name[..^DirectorySuffix.Length] + "/", path, true));
            }
        }

        entries.Sort((a, b) => ObjectKeys.Order.Compare(a.SortKey, b.SortKey));
        foreach ((string sortKey, string path, bool isDirectory) in entries)
        {
            if (results.Count >= limit)
            {
                return;
            }

            string full = keyPrefix + sortKey;
            if (isDirectory)
            {
                if (full.StartsWith(prefix, StringComparison.Ordinal) || prefix.StartsWith(full, StringComparison.Ordinal))
                {
                    Walk(path, full, prefix, limit, results, cancellationToken);
                }
            }
            else if (full.StartsWith(prefix, StringComparison.Ordinal) && HeadAt(path, full) is { } info)
            {
                results.Add(info);
            }
        }
    }

    private void RemoveEmptyParents(string directory)
    {
        while (directory.Length > _objects.Length && directory.StartsWith(_objects, StringComparison.Ordinal))
        {
            try
            {
                Directory.Delete(directory);
            }
            catch (IOException)
            {
                return; // not empty (or gone): stop there
            }

            directory = Path.GetDirectoryName(directory)!;
        }
    }

    private void RemoveStaleTemporaryFiles()
    {
        // Left by a crash mid-upload. An hour keeps clear of uploads still running in another process.
        DateTime cutoff = _time.GetUtcNow().UtcDateTime.AddHours(-1);
        foreach (string file in Directory.EnumerateFiles(_tmp))
        {
            if (File.GetLastWriteTimeUtc(file) < cutoff)
            {
                TryDelete(file);
            }
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A temporary file; the next start removes it.
        }
    }

    /// <summary>Makes a rename in <paramref name="directory"/> durable (the file's own fsync does not cover its name).</summary>
    private static void SyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        int fd = Open(directory, 0);
        if (fd >= 0)
        {
            _ = Fsync(fd);
            _ = Close(fd);
        }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
