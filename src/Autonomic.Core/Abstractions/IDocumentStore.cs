namespace Autonomic.Core.Abstractions;

/// <summary>
/// One stored JSON document of a collection (API keys, tasks, functions, security blocks, ...). <see cref="Version"/>
/// starts at 1 and grows by one with every write; writers pass the version they read to detect lost updates.
/// </summary>
public sealed record StoredDocument(string Collection, string Id, string Json, long Version, DateTimeOffset UpdatedAt);

/// <summary>
/// Durable collections of JSON documents with optimistic concurrency, for the state of agents that do not need
/// their own tables. Collection names and ids are plain strings of at most 200 characters.
/// </summary>
public interface IDocumentStore
{
    Task<StoredDocument?> GetDocumentAsync(string collection, string id, CancellationToken cancellationToken = default);

    /// <summary>The most recently updated <paramref name="limit"/> documents of a collection, newest first.</summary>
    Task<IReadOnlyList<StoredDocument>> ListDocumentsAsync(string collection, int limit, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes <paramref name="json"/> under (collection, id). With <paramref name="expectedVersion"/> null the write
    /// happens whatever is stored; with 0 only if nothing is stored; otherwise only if the stored version equals it.
    /// Returns the new version, or null when the expectation did not hold (nothing was written).
    /// </summary>
    Task<long?> PutDocumentAsync(string collection, string id, string json, long? expectedVersion, CancellationToken cancellationToken = default);

    /// <summary>Deletes; false when there was nothing to delete.</summary>
    Task<bool> DeleteDocumentAsync(string collection, string id, CancellationToken cancellationToken = default);
}
