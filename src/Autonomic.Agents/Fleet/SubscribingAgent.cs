using Microsoft.Extensions.Hosting;

namespace Autonomic.Agents.Fleet;

/// <summary>
/// A hosted agent that subscribes to the bus when it starts: the subscriptions it keeps with <see cref="Keep"/> end
/// when it stops, after its loop has ended.
/// </summary>
public abstract class SubscribingAgent : BackgroundService
{
    private readonly List<IAsyncDisposable> _subscriptions = [];

    /// <summary>Holds a subscription until the agent stops.</summary>
    protected void Keep(IAsyncDisposable subscription) => _subscriptions.Add(subscription);

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await base.StopAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            foreach (var s in _subscriptions)
            {
                await s.DisposeAsync().ConfigureAwait(false);
            }

            _subscriptions.Clear();
        }
    }
}
