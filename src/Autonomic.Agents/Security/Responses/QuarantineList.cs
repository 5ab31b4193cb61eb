using Autonomic.Core.Abstractions;
using Autonomic.Core.Security;

namespace Autonomic.Agents.Security;

/// <summary>
/// Quarantined instances (<see cref="IQuarantine"/>): the load balancers leave them out of their destinations, the
/// healer does not replace or stop them on its own. Expired quarantines answer false.
/// </summary>
public sealed class QuarantineList(TimeProvider time) : IQuarantine
{
    private readonly SnapshotMap<string, ResponseRecord> _instances = new(StringComparer.Ordinal);

    public event Action? Changed
    {
        add => _instances.Changed += value;
        remove => _instances.Changed -= value;
    }

    public int Count => _instances.Count;

    public bool IsQuarantined(string instanceId) =>
        _instances.TryGet(instanceId, out var record) && record.Until > time.GetUtcNow();

    /// <summary>The quarantine of <paramref name="instanceId"/> in force now, or null.</summary>
    public ResponseRecord? Get(string instanceId) =>
        _instances.TryGet(instanceId, out var record) && record.Until > time.GetUtcNow() ? record : null;

    public void Set(ResponseRecord record)
    {
        if (record.Active && !record.DryRun)
        {
            _instances.Set(record.Target, record);
        }
        else
        {
            _instances.Remove(record.Target);
        }
    }

    public void Remove(string instanceId) => _instances.Remove(instanceId);

    public void Replace(IEnumerable<ResponseRecord> records)
    {
        var now = time.GetUtcNow();
        _instances.Replace(records.Where(r => r.InForce(now)).Select(r => KeyValuePair.Create(r.Target, r)));
    }
}
