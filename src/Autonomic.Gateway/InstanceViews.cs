using System.Text.Json;
using System.Text.Json.Nodes;
using Autonomic.Agents.Fleet;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Microsoft.Extensions.DependencyInjection;

namespace Autonomic.Gateway;

/// <summary>
/// The instances as <c>GET /api/v1/instances</c> and <c>GET /api/v1/status</c> show them. They come from the process's
/// live view (<see cref="InstanceRegistry"/>) while its writer vouches that it holds every instance the store records
/// (<see cref="InstanceRegistry.Complete"/>), and from the state store otherwise; both give the same records in the same
/// order. An instance the security agent quarantined gains <c>"quarantined": true</c> (omitted when false).
/// </summary>
internal static class InstanceViews
{
    /// <summary>Every instance, ordered by service, index and id (ordinal).</summary>
    public static async Task<IReadOnlyList<InstanceRecord>> ListAsync(IServiceProvider services, IStateStore store, CancellationToken ct)
    {
        if (services.GetService<InstanceRegistry>() is { Complete: true } registry)
        {
            return FromRegistry(registry.Snapshot());
        }

        var records = await store.ListInstancesAsync(ct);
        // The store orders by its own collation; both sources answer in ordinal order.
        return InOrder(records) ? records : [.. records.OrderBy(r => r.Service, StringComparer.Ordinal).ThenBy(r => r.Index).ThenBy(r => r.Id, StringComparer.Ordinal)];
    }

    /// <summary>
    /// <paramref name="body"/> as JSON; when some instance in it is quarantined, with <c>"quarantined": true</c> on
    /// each such instance. <paramref name="instanceArrays"/> finds the arrays of instances in the serialized body.
    /// </summary>
    public static object WithQuarantines<T>(T body, IEnumerable<InstanceRecord> instances, IQuarantine? quarantine, Func<JsonNode, IEnumerable<JsonArray>> instanceArrays)
        where T : notnull
    {
        // The common case (nothing quarantined, or no security enforcement in this process) serializes the body as it is.
        if (quarantine is null || !instances.Any(i => quarantine.IsQuarantined(i.Id)))
        {
            return body;
        }

        var node = JsonSerializer.SerializeToNode(body, JsonDefaults.Options)!;
        foreach (var array in instanceArrays(node))
        {
            foreach (var instance in array.OfType<JsonObject>())
            {
                if (instance["id"]?.GetValue<string>() is { } id && quarantine.IsQuarantined(id))
                {
                    instance["quarantined"] = true;
                }
            }
        }

        return node;
    }

    private static InstanceRecord[] FromRegistry(IReadOnlyList<LiveInstance> live)
    {
        var records = new InstanceRecord[live.Count];
        for (var i = 0; i < live.Count; i++)
        {
            records[i] = AsStored(live[i].Record);
        }

        // The snapshot is ordered by service and index; the id only breaks ties, as in the store.
        if (!InOrder(records))
        {
            Array.Sort(records, Compare);
        }

        return records;
    }

    /// <summary>Times as the store gives them back: UTC (it keeps the instant, not the offset).</summary>
    private static InstanceRecord AsStored(InstanceRecord r) =>
        r.StartedAt is { Offset.Ticks: not 0 } || r.ReadySince is { Offset.Ticks: not 0 } || r.UpdatedAt.Offset != TimeSpan.Zero
            ? r with { StartedAt = r.StartedAt?.ToUniversalTime(), ReadySince = r.ReadySince?.ToUniversalTime(), UpdatedAt = r.UpdatedAt.ToUniversalTime() }
            : r;

    private static bool InOrder(IReadOnlyList<InstanceRecord> records)
    {
        for (var i = 1; i < records.Count; i++)
        {
            if (Compare(records[i - 1], records[i]) > 0)
            {
                return false;
            }
        }

        return true;
    }

    private static int Compare(InstanceRecord a, InstanceRecord b)
    {
        var c = string.CompareOrdinal(a.Service, b.Service);
        if (c == 0)
        {
            c = a.Index.CompareTo(b.Index);
        }

        return c != 0 ? c : string.CompareOrdinal(a.Id, b.Id);
    }
}
