using System.Collections.Concurrent;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;

namespace Autonomic.Agents.Fleet;

/// <summary>One instance as the agents of this process see it now: its record, its spec and its live process.</summary>
public sealed record LiveInstance(InstanceRecord Record, ServiceSpec Spec, IProcessHandle? Handle);

/// <summary>
/// The live view of the fleet shared by the agents of one process. The healer is its only writer; the
/// monitor, the chaos injector and the API read snapshots.
/// </summary>
public sealed class InstanceRegistry
{
    private readonly ConcurrentDictionary<string, LiveInstance> _instances = new(StringComparer.Ordinal);
    private volatile bool _complete;

    /// <summary>
    /// True while this view holds every instance the state store records, as its writer vouches: the healer while it
    /// holds the lease of every service it knows, the store feed after a read it mirrored in full. Readers that must
    /// agree with the store (the API) read the store while it is false.
    /// </summary>
    public bool Complete
    {
        get => _complete;
        set => _complete = value;
    }

    /// <summary>Raised after every change, with the new value.</summary>
    public event Action<LiveInstance>? Changed;

    public void Set(LiveInstance instance)
    {
        _instances[instance.Record.Id] = instance;
        Changed?.Invoke(instance);
    }

    public void Remove(string id) => _instances.TryRemove(id, out _);

    public LiveInstance? Get(string id) => _instances.TryGetValue(id, out var i) ? i : null;

    /// <summary>A consistent-enough copy, ordered by service and index.</summary>
    public IReadOnlyList<LiveInstance> Snapshot() =>
        _instances.Values.OrderBy(i => i.Record.Service, StringComparer.Ordinal).ThenBy(i => i.Record.Index).ToArray();
}

/// <summary>Names of the agents, as they appear in the audit trail and as event sources.</summary>
public static class AgentNames
{
    public const string Healer = "healer";
    public const string Monitor = "monitor";
    public const string Chaos = "chaos";

    /// <summary>The CloudEvents source of an agent.</summary>
    public static string Source(string agent) => $"/agents/{agent}";
}

/// <summary>Ids of the records agents write: a prefix and 12 hex digits (<c>act-3f2a…</c>, <c>inc-…</c>).</summary>
public static class RecordIds
{
    public static string New(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}
