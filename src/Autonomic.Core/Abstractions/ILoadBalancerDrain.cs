namespace Autonomic.Core.Abstractions;

/// <summary>
/// Connection draining: before an instance is stopped, the load balancer stops sending it new requests and
/// waits for the ones in flight. The healer calls <see cref="DrainAsync"/> before SIGTERM.
/// </summary>
public interface ILoadBalancerDrain
{
    /// <summary>
    /// Removes <paramref name="instanceId"/> from every load balancer's destinations and completes when it has
    /// no request in flight, or after <paramref name="timeout"/>. True when it drained (or was never a
    /// destination), false when the timeout ran out with requests still in flight.
    /// </summary>
    Task<bool> DrainAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken = default);
}

/// <summary>The drain used where no load balancer runs: nothing to wait for.</summary>
public sealed class NoLoadBalancerDrain : ILoadBalancerDrain
{
    public static readonly NoLoadBalancerDrain Instance = new();

    public Task<bool> DrainAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        Task.FromResult(true);
}
