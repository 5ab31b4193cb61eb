using System.Text.Json;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Security;

namespace Autonomic.Agents.Security;

/// <summary>
/// What a process enforces of the security responses: blocks, client rate limits and quarantined instances, each an
/// in-memory snapshot. Kept current by the responder in its own process, by <see cref="Apply"/> (every
/// <c>security.response</c> event) and by <see cref="RefreshAsync"/> (the stored records; a lost event only delays).
/// </summary>
public sealed class SecurityEnforcement(Blocklist blocks, ClientRateLimits limits, QuarantineList quarantines)
{
    public Blocklist Blocks => blocks;

    public ClientRateLimits Limits => limits;

    public QuarantineList Quarantines => quarantines;

    /// <summary>The collection that stores responses of <paramref name="kind"/> (<c>rate_limit</c> or <c>quarantine</c>).</summary>
    public static string CollectionOf(string kind) => kind switch
    {
        "rate_limit" => SecurityCollections.RateLimits,
        "quarantine" => SecurityCollections.Quarantines,
        _ => throw new ArgumentException($"'{kind}' is not stored as a response record", nameof(kind)),
    };

    /// <summary>Takes a rate limit or quarantine into force (or out of it, when inactive).</summary>
    public void Set(ResponseRecord record)
    {
        if (record.Kind == "rate_limit")
        {
            limits.Set(record);
        }
        else if (record.Kind == "quarantine")
        {
            quarantines.Set(record);
        }
    }

    /// <summary>Applies a <c>security.response</c> event from any process.</summary>
    public void Apply(CloudEvent evt)
    {
        if (evt.Type != EventTypes.SecurityResponse || evt.Data?.Deserialize<SecurityResponse>(JsonDefaults.Options) is not { DryRun: false } response)
        {
            return;
        }

        switch (response.Kind)
        {
            case "block" or "unblock":
                blocks.Apply(evt);
                break;
            case "rate_limit" when response.Until is { } until:
                limits.Set(FromResponse(response, until));
                break;
            case "unrate_limit":
                limits.Remove(response.Target);
                break;
            case "quarantine" when response.Until is { } until:
                quarantines.Set(FromResponse(response, until));
                break;
            case "unquarantine":
                quarantines.Remove(response.Target);
                break;
        }
    }

    /// <summary>Replaces every snapshot with the records in force in the store.</summary>
    public async Task RefreshAsync(IDocumentStore docs, CancellationToken cancellationToken)
    {
        await blocks.RefreshAsync(docs, cancellationToken).ConfigureAwait(false);
        limits.Replace(await ReadAllAsync(docs, SecurityCollections.RateLimits, cancellationToken).ConfigureAwait(false));
        quarantines.Replace(await ReadAllAsync(docs, SecurityCollections.Quarantines, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>Every stored record of <paramref name="collection"/>, with its version.</summary>
    public static async Task<IReadOnlyList<(ResponseRecord Record, long Version)>> ListAsync(IDocumentStore docs, string collection, CancellationToken cancellationToken)
    {
        var list = new List<(ResponseRecord, long)>();
        foreach (var doc in await docs.ListDocumentsAsync(collection, 100_000, cancellationToken).ConfigureAwait(false))
        {
            if (JsonSerializer.Deserialize<ResponseRecord>(doc.Json, JsonDefaults.Options) is { } record)
            {
                list.Add((record, doc.Version));
            }
        }

        return list;
    }

    private static async Task<IEnumerable<ResponseRecord>> ReadAllAsync(IDocumentStore docs, string collection, CancellationToken cancellationToken) =>
        (await ListAsync(docs, collection, cancellationToken).ConfigureAwait(false)).Select(r => r.Record);

    /// <summary>What enforcement needs from the event: the stored record, read later, has the same target and end.</summary>
    private static ResponseRecord FromResponse(SecurityResponse response, DateTimeOffset until) => new()
    {
        Kind = response.Kind,
        Target = response.Target,
        Reason = response.Reason,
        Rule = response.Rule ?? "",
        Until = until,
        RequestsPerSecond = response.RequestsPerSecond,
    };
}
