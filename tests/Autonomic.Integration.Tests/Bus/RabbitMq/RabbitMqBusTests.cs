using System.Collections.Concurrent;
using Autonomic.Backends.Bus.RabbitMq;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;

namespace Autonomic.Integration.Tests.Bus.RabbitMq;

/// <summary>The bus contract on a real RabbitMQ, plus what only a broker can do: outages, buffers, dead-letter queues.</summary>
[Collection(RabbitMqCollection.Name)]
public sealed class RabbitMqBusTests : EventBusContract, IAsyncLifetime
{
    private readonly ConcurrentBag<RabbitMqBus> _buses = [];

    protected override IEventBus CreateBus() => NewBus(RabbitMqTestBroker.Url);

    /// <summary>
    /// Known issue: with x-overflow reject-publish, RabbitMQ 3.10 occasionally confirms a publish to a full queue
    /// (about 1 run in 4 here), so the publisher does not wait. Backpressure on RabbitMQ is not relied on until this
    /// is understood; the in-memory bus passes the same test.
    /// </summary>
    [Fact(Skip = "known issue: RabbitMQ sometimes confirms a publish to a full reject-publish queue (see the comment)")]
    public override Task A_full_group_makes_publishers_wait_until_it_drains() => base.A_full_group_makes_publishers_wait_until_it_drains();

    private RabbitMqBus NewBus(string url, int bufferCapacity = 10_000)
    {
        // A fresh exchange (and so fresh queue names) per bus: tests never see each other's events.
        var bus = new RabbitMqBus(new RabbitMqBusOptions
        {
            Url = url,
            Exchange = $"test.{Guid.NewGuid():N}"[..17],
            PublishBufferCapacity = bufferCapacity,
            RecoveryInterval = TimeSpan.FromMilliseconds(500),
            ConnectTimeout = TimeSpan.FromSeconds(2),
        });
        _buses.Add(bus);
        return bus;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync()
    {
        foreach (var bus in _buses)
        {
            await bus.DisposeAsync();
        }

        await RabbitMqTestBroker.DeleteTopologyAsync(_buses.Where(b => b.Options.Url == RabbitMqTestBroker.Url));
    }

    [Fact]
    public async Task Events_published_while_the_broker_drops_connections_all_arrive_after_it_recovers()
    {
        var vhost = $"autonomic-fault-{Guid.NewGuid():N}"[..24];
        await RabbitMqTestBroker.CtlAsync("add_vhost", vhost);
        try
        {
            await RabbitMqTestBroker.CtlAsync("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*");
            var bus = NewBus(RabbitMqTestBroker.UrlForVhost(vhost));
            var type = Unique("fault") + ".x";
            ConcurrentDictionary<string, int> seen = new();
            await using var sub = bus.Subscribe(type, "survivor", (e, _) =>
            {
                seen.AddOrUpdate(e.Id, 1, (_, n) => n + 1);
                return Task.CompletedTask;
            }, new SubscriptionOptions { Concurrency = 4 });

            List<string> sent = [];
            for (var i = 0; i < 50; i++)
            {
                var e = Event(type, $"before{i}");
                await bus.PublishAsync(e);
                sent.Add(e.Id);
            }

            await RabbitMqTestBroker.CtlAsync("close_all_connections", "--vhost", vhost, "fault test");
            await Eventually.WaitAsync(() => !bus.IsConnected, Deadline, "the bus notices the lost connection");

            // Published during the outage: accepted into the buffer, not lost.
            for (var i = 0; i < 50; i++)
            {
                var e = Event(type, $"during{i}");
                await bus.PublishAsync(e);
                sent.Add(e.Id);
            }

            Assert.True(bus.BufferedPublishes > 0 || bus.IsConnected, "events published while disconnected wait in the buffer");
            await Eventually.WaitAsync(() => bus.IsConnected, Deadline, "the bus reconnects");
            for (var i = 0; i < 50; i++)
            {
                var e = Event(type, $"after{i}");
                await bus.PublishAsync(e);
                sent.Add(e.Id);
            }

            await Eventually.WaitAsync(() => sent.All(seen.ContainsKey), Deadline, "every event arrives");
            // The last buffered event can reach its handler just before the broker's confirm empties the buffer.
            await Eventually.WaitAsync(() => bus.BufferedPublishes == 0, Deadline, "the buffer drains");
            Assert.Equal(sent.Order(), seen.Keys.Order());
            await bus.DisposeAsync();
        }
        finally
        {
            await RabbitMqTestBroker.CtlAsync("delete_vhost", vhost);
        }
    }

    [Fact]
    public async Task A_full_publish_buffer_throws_instead_of_dropping_and_hides_the_password()
    {
        // Nothing listens on port 1: the bus never connects, so every publish goes to the buffer.
        await using var bus = NewBus("amqp://guest:s3cr3t-pw@127.0.0.1:1/", bufferCapacity: 3);
        for (var i = 0; i < 3; i++)
        {
            await bus.PublishAsync(Event("overflow.x", $"{i}"));
        }

        Assert.Equal(3, bus.BufferedPublishes);
        var full = await Assert.ThrowsAsync<PublishBufferFullException>(() => bus.PublishAsync(Event("overflow.x", "3")).AsTask());
        Assert.Equal(3, full.Capacity);
        Assert.Equal(3, bus.BufferedPublishes);
        Assert.DoesNotContain("s3cr3t-pw", full.Message, StringComparison.Ordinal);
        Assert.Contains("guest:***@127.0.0.1:1", full.Message, StringComparison.Ordinal);

        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => bus.ListAsync().WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.DoesNotContain("s3cr3t-pw", timeout.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dead_letters_can_be_listed_replayed_to_their_group_and_purged()
    {
        await using var bus = NewBus(RabbitMqTestBroker.Url);
        var type = Unique("dlq") + ".x";
        var healed = false;
        ConcurrentQueue<CloudEvent> handled = new(), other = new();
        await using var sub = bus.Subscribe(type, "picky", (e, _) =>
        {
            if (!Volatile.Read(ref healed) && e.Subject == "poison")
            {
                throw new InvalidOperationException("cannot yet");
            }

            handled.Enqueue(e);
            return Task.CompletedTask;
        }, new SubscriptionOptions { MaxAttempts = 2, RetryDelay = TimeSpan.FromMilliseconds(5) });
        await using var witness = bus.Subscribe(type, "witness", (e, _) =>
        {
            other.Enqueue(e);
            return Task.CompletedTask;
        });

        var poison = Event(type, "poison");
        await bus.PublishAsync(poison);
        await Eventually.WaitAsync(() => bus.DeadLetters.Count == 1 && other.Count == 1, Deadline);

        var listed = Assert.Single(await bus.ListAsync("picky"));
        Assert.Equal(poison.Id, listed.Event.Id);
        Assert.Equal(2, listed.Attempts);
        Assert.Contains("cannot yet", listed.Error, StringComparison.Ordinal);
        Assert.Empty(await bus.ListAsync("witness"));
        Assert.Single(await bus.ListAsync("picky"));

        Volatile.Write(ref healed, true);
        Assert.Equal(1, await bus.ReplayAsync("picky"));
        await Eventually.WaitAsync(() => handled.Any(e => e.Id == poison.Id), Deadline, "the replayed event reaches its group");
        Assert.Empty(await bus.ListAsync());
        // Replay goes back to the group that failed it only.
        Assert.Single(other);

        Volatile.Write(ref healed, false);
        await bus.PublishAsync(Event(type, "poison"));
        await Eventually.WaitAsync(() => bus.DeadLetters.Count == 2, Deadline);
        await Eventually.WaitAsync(async () => (await bus.ListAsync()).Count == 1, Deadline);
        Assert.Equal(1, await bus.PurgeAsync("picky"));
        Assert.Empty(await bus.ListAsync());
    }
}

/// <summary>RabbitMQ tests share one broker and close its connections: they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RabbitMqCollection
{
    public const string Name = "RabbitMQ";
}
