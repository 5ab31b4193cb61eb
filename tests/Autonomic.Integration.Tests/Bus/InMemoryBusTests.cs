using System.Collections.Concurrent;
using Autonomic.Backends.Bus;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Microsoft.Extensions.Time.Testing;

namespace Autonomic.Integration.Tests.Bus;

public sealed class InMemoryBusTests : EventBusContract
{
    protected override IEventBus CreateBus() => new InMemoryBus();

    [Fact]
    public async Task Retry_delays_and_dead_letter_times_come_from_the_injected_clock()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));
        await using var bus = new InMemoryBus(clock);
        var attempts = 0;
        await using var sub = bus.Subscribe("job.run", "g", (_, _) =>
        {
            Interlocked.Increment(ref attempts);
            throw new InvalidOperationException("always");
        }, new SubscriptionOptions { MaxAttempts = 2, RetryDelay = TimeSpan.FromMinutes(1) });

        await bus.PublishAsync(CloudEvent.Create("/t", "job.run", null, clock.GetUtcNow()));
        await Eventually.WaitAsync(() => Volatile.Read(ref attempts) == 1, Deadline);

        // No redelivery while the fake clock stands still, however long real time runs.
        Assert.False(await Eventually.CompletesWithinAsync(
            Eventually.WaitAsync(() => Volatile.Read(ref attempts) > 1, Deadline), TimeSpan.FromMilliseconds(200)));

        clock.Advance(TimeSpan.FromMinutes(1));
        await Eventually.WaitAsync(() => bus.DeadLetters.Count == 1, Deadline);
        var letter = bus.DeadLetters[0];
        Assert.Equal(2, letter.Attempts);
        Assert.Equal(clock.GetUtcNow(), letter.At);
        Assert.Contains("always", letter.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_published_while_a_group_has_no_handler_wait_for_the_next_one()
    {
        await using var bus = new InMemoryBus();
        ConcurrentQueue<CloudEvent> got = new();
        var first = bus.Subscribe("a.b", "g", (e, _) => { got.Enqueue(e); return Task.CompletedTask; });
        await first.DisposeAsync();

        var evt = CloudEvent.Create("/t", "a.b", null, TimeProvider.System.GetUtcNow());
        await bus.PublishAsync(evt);
        await using var second = bus.Subscribe("a.b", "g", (e, _) => { got.Enqueue(e); return Task.CompletedTask; });

        await Eventually.WaitAsync(() => !got.IsEmpty, Deadline);
        Assert.Equal(evt.Id, Assert.Single(got).Id);
    }

    [Fact]
    public async Task An_event_interrupted_by_a_leaving_handler_goes_to_another_handler_of_the_group()
    {
        await using var bus = new InMemoryBus();
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var leaving = bus.Subscribe("a.b", "g", async (_, ct) =>
        {
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, ct);
        });
        var evt = CloudEvent.Create("/t", "a.b", null, TimeProvider.System.GetUtcNow());
        await bus.PublishAsync(evt);
        await started.Task.WaitAsync(Deadline);

        ConcurrentQueue<CloudEvent> got = new();
        await using var staying = bus.Subscribe("a.b", "g", (e, _) => { got.Enqueue(e); return Task.CompletedTask; });
        await leaving.DisposeAsync();

        await Eventually.WaitAsync(() => !got.IsEmpty, Deadline);
        Assert.Equal(evt.Id, Assert.Single(got).Id);
    }

    [Fact]
    public async Task A_full_group_without_handlers_does_not_hold_publishers_up()
    {
        await using var bus = new InMemoryBus();
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sub = bus.Subscribe("a.b", "g", async (_, ct) =>
        {
            started.TrySetResult();
            await gate.Task.WaitAsync(ct);
        }, new SubscriptionOptions { Capacity = 1 });

        await bus.PublishAsync(CloudEvent.Create("/t", "a.b", "0", TimeProvider.System.GetUtcNow()));
        await started.Task.WaitAsync(Deadline);
        await bus.PublishAsync(CloudEvent.Create("/t", "a.b", "1", TimeProvider.System.GetUtcNow()));
        var waiting = bus.PublishAsync(CloudEvent.Create("/t", "a.b", "2", TimeProvider.System.GetUtcNow())).AsTask();
        Assert.False(await Eventually.CompletesWithinAsync(waiting, TimeSpan.FromMilliseconds(200)));

        // The last handler leaves: the waiting publisher gives up on this group instead of waiting for ever.
        await sub.DisposeAsync();
        await waiting.WaitAsync(Deadline);
        await bus.PublishAsync(CloudEvent.Create("/t", "a.b", "3", TimeProvider.System.GetUtcNow())).AsTask().WaitAsync(Deadline);

        // What the queue held is kept for the next handler: the queued event and the one interrupted.
        ConcurrentQueue<CloudEvent> got = new();
        await using var next = bus.Subscribe("a.b", "g", (e, _) => { got.Enqueue(e); return Task.CompletedTask; });
        await Eventually.WaitAsync(() => got.Count >= 2, Deadline);
        Assert.Equal(["0", "1"], got.Select(e => e.Subject!).Order());
    }

    [Fact]
    public async Task Bad_options_are_refused()
    {
        await using var bus = new InMemoryBus();
        Task Handler(CloudEvent e, CancellationToken ct) => Task.CompletedTask;
        Assert.Throws<ArgumentOutOfRangeException>(() => bus.Subscribe("a", "g", Handler, new SubscriptionOptions { Capacity = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => bus.Subscribe("a", "g", Handler, new SubscriptionOptions { MaxAttempts = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => bus.Subscribe("a", "g", Handler, new SubscriptionOptions { Concurrency = 0 }));
        Assert.Throws<ArgumentException>(() => bus.Subscribe(" ", "g", Handler));
    }
}
