using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text.Json;
using Autonomic.Core.Abstractions;

namespace Autonomic.Integration.Tests.Tasks;

// Stand-ins for components built elsewhere (the document store, the directory/S3 object stores and the function
// workers are developed in parallel on other branches). They follow the interface contracts in
// Autonomic.Core.Abstractions closely enough for the task agent's tests; swap in the real ones once they are on main.

/// <summary>Stand-in for the real IDocumentStore: documents in a dictionary, with the optimistic versions of the contract.</summary>
internal sealed class InMemoryDocumentStore(TimeProvider? time = null) : IDocumentStore
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string, string), StoredDocument> _docs = [];
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private long _clock;

    public Task<StoredDocument?> GetDocumentAsync(string collection, string id, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_docs.GetValueOrDefault((collection, id)));
        }
    }

    public Task<IReadOnlyList<StoredDocument>> ListDocumentsAsync(string collection, int limit, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            IReadOnlyList<StoredDocument> list = _docs.Values.Where(d => d.Collection == collection)
                .OrderByDescending(d => d.UpdatedAt).Take(limit).ToList();
            return Task.FromResult(list);
        }
    }

    public Task<long?> PutDocumentAsync(string collection, string id, string json, long? expectedVersion, CancellationToken cancellationToken = default)
    {
        using (JsonDocument.Parse(json))
        {
        }

        lock (_gate)
        {
            var current = _docs.GetValueOrDefault((collection, id));
            var version = current?.Version ?? 0;
            if (expectedVersion is { } expected && expected != version)
            {
                return Task.FromResult<long?>(null);
            }

            // A strictly growing update time, so "most recently updated" is well defined even within one clock tick.
            var at = _time.GetUtcNow().AddTicks(Interlocked.Increment(ref _clock) % 10_000);
            _docs[(collection, id)] = new StoredDocument(collection, id, json, version + 1, at);
            return Task.FromResult<long?>(version + 1);
        }
    }

    public Task<bool> DeleteDocumentAsync(string collection, string id, CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            return Task.FromResult(_docs.Remove((collection, id)));
        }
    }
}

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
