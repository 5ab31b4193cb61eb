using System.Collections.Immutable;

namespace Autonomic.Agents.Security;

/// <summary>
/// An immutable map swapped whole on every change: a read is one dictionary lookup with no lock, writers serialize.
/// The in-memory side of the security responses the gateway and the load balancers ask on every request.
/// </summary>
internal sealed class SnapshotMap<TKey, TValue>(IEqualityComparer<TKey>? comparer = null)
    where TKey : notnull
{
    private readonly Lock _write = new();
    private ImmutableDictionary<TKey, TValue> _map = ImmutableDictionary.Create<TKey, TValue>(comparer);

    /// <summary>Raised after a write that changed which keys the map holds.</summary>
    public event Action? Changed;

    public int Count => _map.Count;

    public ImmutableDictionary<TKey, TValue> Current => _map;

    public bool TryGet(TKey key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out TValue value) => _map.TryGetValue(key, out value);

    public void Set(TKey key, TValue value) => Write(m => m.SetItem(key, value));

    public void Remove(TKey key) => Write(m => m.Remove(key));

    /// <summary>Replaces everything with <paramref name="entries"/>.</summary>
    public void Replace(IEnumerable<KeyValuePair<TKey, TValue>> entries) => Write(m => m.Clear().SetItems(entries));

    private void Write(Func<ImmutableDictionary<TKey, TValue>, ImmutableDictionary<TKey, TValue>> change)
    {
        bool changed;
        lock (_write)
        {
            var next = change(_map);
            changed = next.Count != _map.Count || !next.Keys.All(_map.ContainsKey);
            _map = next;
        }

        if (changed)
        {
            Changed?.Invoke();
        }
    }
}
