using System.Net;
using System.Text.Json;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Security;

namespace Autonomic.Agents.Security;

/// <summary>
/// The in-memory snapshot behind <see cref="IBlocklist"/>: an immutable map swapped whole on every change, so a lookup
/// is one dictionary read with no lock. Filled by the responder in its own process and by <see cref="RefreshAsync"/>
/// (from <c>security_blocks</c>) and <see cref="Apply"/> (from <c>security.response</c> events) elsewhere. Dry-run and
/// lifted blocks are not in it; expired ones answer false.
/// </summary>
public sealed class Blocklist(TimeProvider time) : IBlocklist
{
    private readonly SnapshotMap<IPAddress, BlockInfo> _blocks = new();

    public int Count => _blocks.Count;

    public bool IsBlocked(IPAddress ip, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BlockInfo? info)
    {
        ArgumentNullException.ThrowIfNull(ip);
        if (_blocks.TryGet(Normalize(ip), out info) && info.Until > time.GetUtcNow())
        {
            return true;
        }

        info = null;
        return false;
    }

    /// <summary>IPv4-mapped IPv6 addresses (<c>::ffff:1.2.3.4</c>) are the IPv4 address.</summary>
    public static IPAddress Normalize(IPAddress ip) => ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip;

    /// <summary>Adds or removes one block as its record says.</summary>
    public void Set(BlockRecord record)
    {
        if (!IPAddress.TryParse(record.Ip, out var ip))
        {
            return;
        }

        ip = Normalize(ip);
        if (record.Active && !record.DryRun)
        {
            _blocks.Set(ip, new BlockInfo(record.Ip, record.Reason, record.Rule, record.Until, record.Count));
        }
        else
        {
            _blocks.Remove(ip);
        }
    }

    public void Remove(string ip)
    {
        if (IPAddress.TryParse(ip, out var address))
        {
            _blocks.Remove(Normalize(address));
        }
    }

    /// <summary>Replaces the snapshot with the active blocks stored.</summary>
    public async Task RefreshAsync(IDocumentStore docs, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var builder = new Dictionary<IPAddress, BlockInfo>();
        foreach (var doc in await docs.ListDocumentsAsync(SecurityCollections.Blocks, 100_000, cancellationToken).ConfigureAwait(false))
        {
            var record = JsonSerializer.Deserialize<BlockRecord>(doc.Json, JsonDefaults.Options);
            if (record is { Active: true, DryRun: false } && record.Until > now && IPAddress.TryParse(record.Ip, out var ip))
            {
                builder[Normalize(ip)] = new BlockInfo(record.Ip, record.Reason, record.Rule, record.Until, record.Count);
            }
        }

        _blocks.Replace(builder);
    }

    /// <summary>Applies a <c>security.response</c> event (block or unblock) from any process.</summary>
    public void Apply(CloudEvent evt)
    {
        if (evt.Type != EventTypes.SecurityResponse || evt.Data is not { } data)
        {
            return;
        }

        var response = data.Deserialize<SecurityResponse>(JsonDefaults.Options);
        if (response is null || response.DryRun)
        {
            return;
        }

        if (response.Kind == "block" && response.Until is { } until)
        {
            Set(new BlockRecord { Ip = response.Target, Reason = response.Reason, Rule = response.Rule ?? "", Until = until });
        }
        else if (response.Kind == "unblock")
        {
            Remove(response.Target);
        }
    }
}
