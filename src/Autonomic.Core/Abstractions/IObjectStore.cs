namespace Autonomic.Core.Abstractions;

/// <summary>What is known of a stored object.</summary>
public sealed record ObjectInfo(string Key, long Size, string Sha256, string ContentType, DateTimeOffset LastModified);

/// <summary>
/// A flat namespace of objects (S3-style keys with '/' as a separator). Keys are validated by the store: empty
/// keys, absolute paths and '..' segments are refused with <see cref="ArgumentException"/>. Writes are atomic: a
/// reader sees the old object or the new one, never part of one.
/// </summary>
public interface IObjectStore
{
    /// <summary>A short name of the backend, e.g. <c>directory</c> or <c>s3</c>.</summary>
    string Kind { get; }

    /// <summary>
    /// Streams <paramref name="content"/> into <paramref name="key"/> and records its SHA-256. When
    /// <paramref name="expectedSha256"/> is given and the content differs, nothing is stored and
    /// <see cref="InvalidDataException"/> is thrown.
    /// </summary>
    Task<ObjectInfo> PutAsync(string key, Stream content, string? contentType = null, string? expectedSha256 = null, CancellationToken cancellationToken = default);

    /// <summary>Opens an object for reading, or null when there is none.</summary>
    Task<(ObjectInfo Info, Stream Content)?> GetAsync(string key, CancellationToken cancellationToken = default);

    Task<ObjectInfo?> HeadAsync(string key, CancellationToken cancellationToken = default);

    /// <summary>Objects whose key starts with <paramref name="prefix"/>, in key order, at most <paramref name="limit"/>.</summary>
    Task<IReadOnlyList<ObjectInfo>> ListAsync(string prefix, int limit, CancellationToken cancellationToken = default);

    /// <summary>Copies within the store; null when the source does not exist.</summary>
    Task<ObjectInfo?> CopyAsync(string sourceKey, string destinationKey, CancellationToken cancellationToken = default);

    /// <summary>False when there was nothing to delete.</summary>
    Task<bool> DeleteAsync(string key, CancellationToken cancellationToken = default);
}
