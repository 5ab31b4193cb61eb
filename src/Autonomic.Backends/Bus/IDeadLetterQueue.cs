using Autonomic.Core.Abstractions;

namespace Autonomic.Backends.Bus;

/// <summary>
/// The durable list of events consumer groups gave up on, across processes: list them, send them back to the group
/// that failed them, or discard them. A group (when given) narrows each operation to one group.
/// </summary>
public interface IDeadLetterQueue
{
    /// <summary>Dead letters, oldest first, without removing them.</summary>
    Task<IReadOnlyList<DeadLetter>> ListAsync(string? group = null, CancellationToken cancellationToken = default);

    /// <summary>Moves dead letters back to the queue of the group that failed them, with fresh attempts; returns how many.</summary>
    Task<int> ReplayAsync(string? group = null, CancellationToken cancellationToken = default);

    /// <summary>Deletes dead letters; returns how many.</summary>
    Task<int> PurgeAsync(string? group = null, CancellationToken cancellationToken = default);
}
