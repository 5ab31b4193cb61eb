using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Autonomic.Core.Abstractions;

namespace Autonomic.Integration.Tests.Tasks;

// Stand-ins where a test needs to control a component's behaviour (a failing or slow object store, a function that
// throws on cue): they follow the interface contracts in Autonomic.Core.Abstractions.

/// <summary>Stand-in for DirectoryObjectStore/S3ObjectStore: objects in memory, SHA-256 checked, atomic writes.</summary>
internal sealed class InMemoryObjectStore(string kind = "memory") : IObjectStore
{
    private readonly ConcurrentDictionary<string, (ObjectInfo Info, byte[] Bytes)> _objects = new(StringComparer.Ordinal);

    public string Kind => kind;

    public async Task<ObjectInfo> PutAsync(string key, Stream content, string? contentType = null, string? expectedSha256 = null, CancellationToken cancellationToken = default)
    {
        Check(key);
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellationToken);
        var bytes = buffer.ToArray();
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        if (expectedSha256 is not null && expectedSha256 != sha)
        {
            throw new InvalidDataException($"expected sha256 {expectedSha256}, got {sha}");
        }

        var info = new ObjectInfo(key, bytes.Length, sha, contentType ?? "application/octet-stream", DateTimeOffset.UnixEpoch);
        _objects[key] = (info, bytes);
        return info;
    }

    public Task<(ObjectInfo Info, Stream Content)?> GetAsync(string key, CancellationToken cancellationToken = default) =>
        Task.FromResult<(ObjectInfo, Stream)?>(_objects.TryGetValue(key, out var o) ? (o.Info, new MemoryStream(o.Bytes, writable: false)) : null);

    public Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default) =>
        Task.FromResult(_objects.TryGetValue(key, out var o) ? o.Info : null);

    public Task<IReadOnlyList<ObjectInfo>> ListAsync(string prefix, int limit, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<ObjectInfo>>(_objects.Values.Select(o => o.Info).Where(i => i.Key.StartsWith(prefix, StringComparison.Ordinal))
            .OrderBy(i => i.Key, StringComparer.Ordinal).Take(limit).ToList());

    public Task<ObjectInfo?> CopyAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default)
    {
        Check(destinationKey);
        if (!_objects.TryGetValue(sourceKey, out var o))
        {
            return Task.FromResult<ObjectInfo?>(null);
        }

        var info = o.Info with { Key = destinationKey };
        _objects[destinationKey] = (info, o.Bytes);
        return Task.FromResult<ObjectInfo?>(info);
    }

    public Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default) => Task.FromResult(_objects.TryRemove(key, out _));

    public byte[]? Bytes(string key) => _objects.TryGetValue(key, out var o) ? o.Bytes : null;

    private static void Check(string key)
    {
        if (key.Length == 0 || key.StartsWith('/') || key.Split('/').Contains(".."))
        {
            throw new ArgumentException($"invalid key '{key}'", nameof(key));
        }
    }
}

/// <summary>
/// Stand-in for the function workers: counts invocations per task (the event's <c>tag</c>) and answers by a script:
/// <c>fail</c> N times first, optionally waits on <see cref="Gate"/>, then echoes the event.
/// </summary>
internal sealed class ScriptedFunctionInvoker : IFunctionInvoker
{
    private readonly ConcurrentDictionary<string, int> _calls = new(StringComparer.Ordinal);

    /// <summary>Invocations wait on this when set (to hold workers busy).</summary>
    public TaskCompletionSource? Gate { get; set; }

    /// <summary>How long each invocation takes (simulated work).</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>How many times each tag fails before it succeeds; "always" fails for ever.</summary>
    public ConcurrentDictionary<string, int> FailuresBefore { get; } = new(StringComparer.Ordinal);

    public int Total => _calls.Values.Sum();

    public int Calls(string tag) => _calls.GetValueOrDefault(tag);

    public IReadOnlyDictionary<string, int> AllCalls => _calls;

    public async Task<InvocationResult> InvokeAsync(string function, int? version, JsonElement payload, CancellationToken cancellationToken = default)
    {
        var tag = payload.TryGetProperty("tag", out var t) ? t.GetString() ?? "" : "";
        var n = _calls.AddOrUpdate(tag, 1, (_, c) => c + 1);
        if (function == "missing")
        {
            return new InvocationResult { Status = InvocationStatus.NotFound, Function = function, Version = 0, Error = $"function '{function}' not found" };
        }

        if (Gate is { } gate)
        {
            await gate.Task.WaitAsync(cancellationToken);
        }

        if (Delay > TimeSpan.Zero)
        {
            await Task.Delay(Delay, cancellationToken);
        }

        if (FailuresBefore.TryGetValue(tag, out var failures) && n <= failures)
        {
            return new InvocationResult { Status = InvocationStatus.Failed, Function = function, Version = version ?? 1, Error = $"scripted failure {n}" };
        }

        return new InvocationResult { Status = InvocationStatus.Succeeded, Function = function, Version = version ?? 1, Response = payload.Clone(), DurationMs = 1 };
    }
}
