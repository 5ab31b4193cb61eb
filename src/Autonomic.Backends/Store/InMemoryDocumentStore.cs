using System.Text.Json;
using Autonomic.Core.Abstractions;

namespace Autonomic.Backends.Store;

/// <summary>
/// An <see cref="IDocumentStore"/> in process memory: thread-safe, with the same optimistic versions and ordering as
/// the durable stores, and nothing kept across restarts. For tests and for control planes without a durable store.
/// </summary>
public sealed class InMemoryDocumentStore(TimeProvider? time = null) : IDocumentStore
{
    /// <summary>Collection names and ids are at most this long.</summary>
    public const int MaxKeyLength = 200;

    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Collection, string Id), Entry> _documents = [];
    // Breaks ties between documents written within one clock tick, so "newest first" is the order of the writes.
    private long _sequence;

    private sealed record Entry(StoredDocument Document, long Sequence);

    public Task<StoredDocument?> GetDocumentAsync(string collection, string id, CancellationToken cancellationToken = default)
    {
        Check(collection, id);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return Task.FromResult(_documents.TryGetValue((collection, id), out var entry) ? entry.Document : null);
        }
    }

    public Task<IReadOnlyList<StoredDocument>> ListDocumentsAsync(string collection, int limit, CancellationToken cancellationToken = default)
    {
        CheckName(collection, nameof(collection));
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            IReadOnlyList<StoredDocument> list = _documents.Values
                .Where(e => e.Document.Collection == collection)
                .OrderByDescending(e => e.Document.UpdatedAt)
                .ThenByDescending(e => e.Sequence)
                .Take(limit)
                .Select(e => e.Document)
                .ToList();
            return Task.FromResult(list);
        }
    }

    public Task<long?> PutDocumentAsync(string collection, string id, string json, long? expectedVersion, CancellationToken cancellationToken = default)
    {
        Check(collection, id);
        ArgumentNullException.ThrowIfNull(json);
        if (expectedVersion is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(expectedVersion), expectedVersion, "an expected version is null, 0 (nothing stored) or a stored version");
        }

        // The durable stores keep JSON in JSON columns; refusing what is not JSON here keeps tests honest.
        try
        {
            using var _ = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"the document is not valid JSON: {e.Message}", nameof(json), e);
        }

        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            var key = (collection, id);
            var current = _documents.TryGetValue(key, out var entry) ? entry.Document.Version : 0;
            if (expectedVersion is { } expected && expected != current)
            {
                return Task.FromResult<long?>(null);
            }

            var version = current + 1;
            _documents[key] = new Entry(new StoredDocument(collection, id, json, version, _time.GetUtcNow()), ++_sequence);
            return Task.FromResult<long?>(version);
        }
    }

    public Task<bool> DeleteDocumentAsync(string collection, string id, CancellationToken cancellationToken = default)
    {
        Check(collection, id);
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return Task.FromResult(_documents.Remove((collection, id)));
        }
    }

    private static void Check(string collection, string id)
    {
        CheckName(collection, nameof(collection));
        CheckName(id, nameof(id));
    }

    private static void CheckName(string value, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(value, name);
        if (value.Length > MaxKeyLength)
        {
            throw new ArgumentException($"{name} is {value.Length} characters long; at most {MaxKeyLength} are allowed", name);
        }
    }
}
