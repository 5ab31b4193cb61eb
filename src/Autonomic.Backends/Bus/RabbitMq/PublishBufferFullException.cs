namespace Autonomic.Backends.Bus.RabbitMq;

/// <summary>
/// Thrown by <see cref="RabbitMqBus.PublishAsync"/> when the broker is unreachable and the publish buffer already holds
/// <see cref="RabbitMqBusOptions.PublishBufferCapacity"/> events: the event was not accepted (never silently dropped).
/// </summary>
public sealed class PublishBufferFullException(int capacity, string maskedUrl)
    : InvalidOperationException($"RabbitMQ at {maskedUrl} is unreachable and the publish buffer is full ({capacity} events waiting): event not published")
{
    /// <summary>The buffer's capacity.</summary>
    public int Capacity { get; } = capacity;
}
