using Autonomic.Core.Abstractions;
using Microsoft.EntityFrameworkCore;

namespace Autonomic.Backends.Store;

/// <summary>The <see cref="IDocumentStore"/> half of the EF stores: one <c>documents</c> table keyed by (collection, id).</summary>
public abstract partial class EfStateStore : IDocumentStore
{
    private const int MaxNameLength = 200;

    /// <summary>The clock that stamps <see cref="StoredDocument.UpdatedAt"/>.</summary>
    protected virtual TimeProvider Time => TimeProvider.System;

    /// <inheritdoc />
    public Task<StoredDocument?> GetDocumentAsync(string collection, string id, CancellationToken cancellationToken = default)
    {
        CheckName(collection, nameof(collection));
        CheckName(id, nameof(id));
        return RunAsync(async db =>
        {
            var row = await db.Documents.AsNoTracking().FirstOrDefaultAsync(r => r.Collection == collection && r.Id == id, cancellationToken).ConfigureAwait(false);
            return row is null ? null : ToDocument(row);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task<IReadOnlyList<StoredDocument>> ListDocumentsAsync(string collection, int limit, CancellationToken cancellationToken = default)
    {
        CheckName(collection, nameof(collection));
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return RunAsync<IReadOnlyList<StoredDocument>>(async db =>
        {
            var rows = await db.Documents.AsNoTracking().Where(r => r.Collection == collection)
                .OrderByDescending(r => r.UpdatedAt).ThenBy(r => r.Id).Take(limit)
                .ToListAsync(cancellationToken).ConfigureAwait(false);
            return [.. rows.Select(ToDocument)];
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<long?> PutDocumentAsync(string collection, string id, string json, long? expectedVersion, CancellationToken cancellationToken = default)
    {
        CheckName(collection, nameof(collection));
        CheckName(id, nameof(id));
        ArgumentNullException.ThrowIfNull(json);
        if (expectedVersion is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(expectedVersion), "an expected version is 0 (absent) or a stored version");
        }

        if (expectedVersion is { } expected)
        {
            return expected == 0
                ? await InsertDocumentAsync(collection, id, json, cancellationToken).ConfigureAwait(false)
                : await UpdateDocumentAsync(collection, id, json, expected, cancellationToken).ConfigureAwait(false);
        }

        // Unconditional: read the version, then write conditionally on it; a concurrent writer makes us read again.
        while (true)
        {
            var current = await GetDocumentAsync(collection, id, cancellationToken).ConfigureAwait(false);
            var written = current is null
                ? await InsertDocumentAsync(collection, id, json, cancellationToken).ConfigureAwait(false)
                : await UpdateDocumentAsync(collection, id, json, current.Version, cancellationToken).ConfigureAwait(false);
            if (written is not null)
            {
                return written;
            }
        }
    }

    /// <inheritdoc />
    public Task<bool> DeleteDocumentAsync(string collection, string id, CancellationToken cancellationToken = default)
    {
        CheckName(collection, nameof(collection));
        CheckName(id, nameof(id));
        return RunAsync(async db =>
            await db.Documents.Where(r => r.Collection == collection && r.Id == id).ExecuteDeleteAsync(cancellationToken).ConfigureAwait(false) > 0,
            cancellationToken);
    }

    private Task<long?> InsertDocumentAsync(string collection, string id, string json, CancellationToken cancellationToken) => RunAsync<long?>(async db =>
    {
        db.Documents.Add(new DocumentRow { Collection = collection, Id = id, Json = json, Version = 1, UpdatedAt = Time.GetUtcNow() });
        try
        {
            await db.SaveChangesAsync(cancellationToken).ConfigureAwait(false);
            return 1;
        }
        catch (DbUpdateException)
        {
            // The key exists (another writer got there first), unless the failure was something else: check.
            var check = NewContext();
            await using (check.ConfigureAwait(false))
            {
                if (await check.Documents.AnyAsync(r => r.Collection == collection && r.Id == id, cancellationToken).ConfigureAwait(false))
                {
                    return null;
                }
            }

            throw;
        }
    }, cancellationToken);

    private Task<long?> UpdateDocumentAsync(string collection, string id, string json, long expected, CancellationToken cancellationToken) => RunAsync<long?>(async db =>
    {
        var now = Time.GetUtcNow();
        var changed = await db.Documents
            .Where(r => r.Collection == collection && r.Id == id && r.Version == expected)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Json, json).SetProperty(r => r.Version, expected + 1).SetProperty(r => r.UpdatedAt, now), cancellationToken)
            .ConfigureAwait(false);
        return changed == 1 ? expected + 1 : null;
    }, cancellationToken);

    private static StoredDocument ToDocument(DocumentRow row) => new(row.Collection, row.Id, row.Json, row.Version, row.UpdatedAt);

    private static void CheckName(string value, string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(value, name);
        if (value.Length > MaxNameLength)
        {
            throw new ArgumentException($"{name} is longer than {MaxNameLength} characters", name);
        }
    }
}
