using System.Collections.Concurrent;
using Autonomic.Core.Abstractions;

namespace Autonomic.Integration.Tests.Functions;

/// <summary>
/// A fake document store: the real in-memory and EF implementations of IDocumentStore are not on this branch yet.
/// It keeps the interface's contract (versions from 1, expected-version checks) so the function tests exercise it.
/// </summary>
internal sealed class InMemoryDocumentStore(TimeProvider time) : IDocumentStore
{
    private readonly ConcurrentDictionary<(string, string), StoredDocument> _documents = new();
    private readonly Lock _lock = new();

    public Task<StoredDocument?> GetDocumentAsync(string collection, string id, CancellationToken cancellationToken = default) =>
        Task.FromResult(_documents.TryGetValue((collection, id), out var d) ? d : null);

    public Task<IReadOnlyList<StoredDocument>> ListDocumentsAsync(string collection, int limit, CancellationToken cancellationToken = default) =>
        Task.FromResult<IReadOnlyList<StoredDocument>>([.. _documents.Values.Where(d => d.Collection == collection).OrderByDescending(d => d.UpdatedAt).Take(limit)]);

    public Task<long?> PutDocumentAsync(string collection, string id, string json, long? expectedVersion, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            var current = _documents.TryGetValue((collection, id), out var d) ? d.Version : 0;
            if (expectedVersion is { } expected && expected != current)
            {
                return Task.FromResult<long?>(null);
            }

            _documents[(collection, id)] = new StoredDocument(collection, id, json, current + 1, time.GetUtcNow());
            return Task.FromResult<long?>(current + 1);
        }
    }

    public Task<bool> DeleteDocumentAsync(string collection, string id, CancellationToken cancellationToken = default) =>
        Task.FromResult(_documents.TryRemove((collection, id), out _));
}
