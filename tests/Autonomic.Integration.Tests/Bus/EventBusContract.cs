using System.Collections.Concurrent;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;

namespace Autonomic.Integration.Tests.Bus;

/// <summary>
/// What every <see cref="IEventBus"/> must do. An implementation's test class derives from this one and says how
/// to make a fresh, empty bus.
/// </summary>
public abstract class EventBusContract
{
    protected static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    /// <summary>A fresh bus with no subscriptions; the test disposes it.</summary>
    protected abstract IEventBus CreateBus();

    /// <summary>A group or pattern word unique to one test, so implementations with shared brokers do not mix tests.</summary>
    protected static string Unique(string name) => $"{name}{Guid.NewGuid():N}"[..(name.Length + 8)];

    protected static CloudEvent Event(string type, string? subject = null) =>
        CloudEvent.Create("/tests/bus", type, subject, TimeProvider.System.GetUtcNow(), new { n = subject });

    private static Func<CloudEvent, CancellationToken, Task> Into(ConcurrentQueue<CloudEvent> sink) =>
        (e, _) =>
        {
            sink.Enqueue(e);
            return Task.CompletedTask;
        };

    [Fact]
    public async Task Every_group_gets_every_matching_event_once()
    {
        await using var bus = CreateBus();
        var root = Unique("fan");
        ConcurrentQueue<CloudEvent> a = new(), b = new();
        await using var subA = bus.Subscribe($"{root}.*", "a", Into(a));
        await using var subB = bus.Subscribe($"{root}.*", "b", Into(b));

        var sent = Enumerable.Range(0, 5).Select(i => Event($"{root}.happened", $"s{i}")).ToList();
        foreach (var e in sent)
        {
            await bus.PublishAsync(e);
        }

        await Eventually.WaitAsync(() => a.Count >= 5 && b.Count >= 5, Deadline);
        // A sentinel proves nothing else was still on its way (delivery within a group is in order).
        await bus.PublishAsync(Event($"{root}.sentinel"));
        await Eventually.WaitAsync(() => a.Count >= 6 && b.Count >= 6, Deadline);

        Assert.Equal(sent.Select(e => e.Id), a.Take(5).Select(e => e.Id));
        Assert.Equal(sent.Select(e => e.Id), b.Take(5).Select(e => e.Id));
        Assert.Equal(6, a.Count);
        Assert.Equal(6, b.Count);
    }

    [Fact]
    public async Task Handlers_in_one_group_share_the_work()
    {
        await using var bus = CreateBus();
        var type = Unique("work") + ".item";
        ConcurrentQueue<(int Handler, CloudEvent Event)> got = new();
        var oneGotOne = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var twoGotOne = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Each handler holds its first event until the other has had one: only sharing ends the wait,
        // whichever handler the bus happens to serve first.
        Func<CloudEvent, CancellationToken, Task> Handler(int n, TaskCompletionSource mine, TaskCompletionSource theirs)
        {
            var first = true;
            return async (e, ct) =>
            {
                got.Enqueue((n, e));
                mine.TrySetResult();
                if (first)
                {
                    first = false;
                    await theirs.Task.WaitAsync(Deadline, ct);
                }
            };
        }

        await using var one = bus.Subscribe(type, "workers", Handler(1, oneGotOne, twoGotOne));
        await using var two = bus.Subscribe(type, "workers", Handler(2, twoGotOne, oneGotOne));

        var sent = Enumerable.Range(0, 20).Select(i => Event(type, $"s{i}")).ToList();
        foreach (var e in sent)
        {
            await bus.PublishAsync(e);
        }

        await Eventually.WaitAsync(() => got.Count >= 20, Deadline);
        Assert.Equal(sent.Select(e => e.Id).Order(), got.Select(g => g.Event.Id).Order());
        Assert.Contains(got, g => g.Handler == 1);
        Assert.Contains(got, g => g.Handler == 2);
    }

    [Fact]
    public async Task Patterns_follow_topic_rules()
    {
        await using var bus = CreateBus();
        var root = Unique("wild");
        ConcurrentQueue<CloudEvent> star = new(), hashTail = new(), all = new(), exact = new();
        await using var s1 = bus.Subscribe($"{root}.*", "star", Into(star));
        await using var s2 = bus.Subscribe($"{root}.#", "hash-tail", Into(hashTail));
        await using var s3 = bus.Subscribe("#", "all", Into(all));
        await using var s4 = bus.Subscribe($"{root}.exited", "exact", Into(exact));

        await bus.PublishAsync(Event($"{root}.exited"));
        await bus.PublishAsync(Event($"{root}.state.changed"));
        await bus.PublishAsync(Event($"other.{root}"));
        await bus.PublishAsync(Event(root));
        await bus.PublishAsync(Event($"{root}.zdone"));

        // "#" also sees whatever else is published on a shared broker: look only at this test's events.
        IEnumerable<CloudEvent> Mine(IEnumerable<CloudEvent> q) => q.Where(e => e.Type.Contains(root, StringComparison.Ordinal));
        static string[] Types(IEnumerable<CloudEvent> q) => [.. q.Select(e => e.Type)];
        await Eventually.WaitAsync(() => star.Count >= 2 && hashTail.Count >= 4 && Mine(all).Count() >= 5 && !exact.IsEmpty, Deadline);

        Assert.Equal([$"{root}.exited", $"{root}.zdone"], Types(star));
        Assert.Equal([$"{root}.exited", $"{root}.state.changed", root, $"{root}.zdone"], Types(hashTail));
        Assert.Equal([$"{root}.exited", $"{root}.state.changed", $"other.{root}", root, $"{root}.zdone"], Types(Mine(all)));
        Assert.Equal([$"{root}.exited"], Types(exact));
    }

    [Fact]
    public async Task A_handler_that_throws_gets_the_event_again()
    {
        await using var bus = CreateBus();
        var type = Unique("retry") + ".x";
        var attempts = 0;
        ConcurrentQueue<CloudEvent> done = new();
        await using var sub = bus.Subscribe(type, "flaky", (e, _) =>
        {
            if (Interlocked.Increment(ref attempts) < 3)
            {
                throw new InvalidOperationException("not yet");
            }

            done.Enqueue(e);
            return Task.CompletedTask;
        }, new SubscriptionOptions { MaxAttempts = 5, RetryDelay = TimeSpan.FromMilliseconds(10) });

        var evt = Event(type);
        await bus.PublishAsync(evt);

        await Eventually.WaitAsync(() => !done.IsEmpty, Deadline);
        Assert.Equal(evt.Id, Assert.Single(done).Id);
        Assert.Equal(3, Volatile.Read(ref attempts));
        Assert.DoesNotContain(bus.DeadLetters, d => d.Event.Id == evt.Id);
    }

    [Fact]
    public async Task An_event_goes_to_dead_letters_after_max_attempts_and_the_group_goes_on()
    {
        await using var bus = CreateBus();
        var type = Unique("dead") + ".x";
        var attempts = 0;
        ConcurrentQueue<CloudEvent> ok = new();
        var poison = Event(type, "poison");
        await using var sub = bus.Subscribe(type, "strict", (e, _) =>
        {
            if (e.Id == poison.Id)
            {
                Interlocked.Increment(ref attempts);
                throw new InvalidOperationException("boom: cannot handle");
            }

            ok.Enqueue(e);
            return Task.CompletedTask;
        }, new SubscriptionOptions { MaxAttempts = 3, RetryDelay = TimeSpan.FromMilliseconds(5) });

        var before = TimeProvider.System.GetUtcNow();
        await bus.PublishAsync(poison);
        var next = Event(type, "fine");
        await bus.PublishAsync(next);

        await Eventually.WaitAsync(() => bus.DeadLetters.Any(d => d.Event.Id == poison.Id) && !ok.IsEmpty, Deadline);
        var letter = Assert.Single(bus.DeadLetters, d => d.Event.Id == poison.Id);
        Assert.Equal("strict", letter.Group);
        Assert.Equal(3, letter.Attempts);
        Assert.Contains("boom: cannot handle", letter.Error, StringComparison.Ordinal);
        Assert.InRange(letter.At, before.AddSeconds(-1), TimeProvider.System.GetUtcNow().AddSeconds(1));
        Assert.Equal(3, Volatile.Read(ref attempts));
        Assert.Equal(next.Id, Assert.Single(ok).Id);
    }

    [Fact]
    public virtual async Task A_full_group_makes_publishers_wait_until_it_drains()
    {
        await using var bus = CreateBus();
        var type = Unique("press") + ".x";
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = 0;
        ConcurrentQueue<CloudEvent> done = new();
        await using var sub = bus.Subscribe(type, "slow", async (e, ct) =>
        {
            Interlocked.Increment(ref started);
            await gate.Task.WaitAsync(ct);
            done.Enqueue(e);
        }, new SubscriptionOptions { Capacity = 2 });

        await bus.PublishAsync(Event(type, "0"));
        await Eventually.WaitAsync(() => Volatile.Read(ref started) == 1, Deadline, "the handler holds the first event");
        await bus.PublishAsync(Event(type, "1"));
        await bus.PublishAsync(Event(type, "2"));

        var blocked = bus.PublishAsync(Event(type, "3")).AsTask();
        Assert.False(await Eventually.CompletesWithinAsync(blocked, TimeSpan.FromMilliseconds(300)), "publish into a full group must wait");

        using (var cts = new CancellationTokenSource())
        {
            var cancelled = bus.PublishAsync(Event(type, "never"), cts.Token).AsTask();
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Deadline));
        }

        gate.SetResult();
        await blocked.WaitAsync(Deadline);
        await Eventually.WaitAsync(() => done.Count >= 4, Deadline);
        Assert.Equal(["0", "1", "2", "3"], done.Select(e => e.Subject));
    }

    [Fact]
    public async Task One_handler_at_a_time_sees_events_in_publish_order()
    {
        await using var bus = CreateBus();
        var type = Unique("order") + ".x";
        ConcurrentQueue<CloudEvent> got = new();
        await using var sub = bus.Subscribe(type, "ordered", async (e, _) =>
        {
            // Yield so a bus that reorders under load has a chance to show it.
            await Task.Yield();
            got.Enqueue(e);
        }, new SubscriptionOptions { Concurrency = 1 });

        var sent = Enumerable.Range(0, 200).Select(i => Event(type, $"{i}")).ToList();
        foreach (var e in sent)
        {
            await bus.PublishAsync(e);
        }

        await Eventually.WaitAsync(() => got.Count >= sent.Count, Deadline);
        Assert.Equal(sent.Select(e => e.Id), got.Select(e => e.Id));
    }

    [Fact]
    public async Task Concurrency_bounds_the_handlers_running_at_once()
    {
        await using var bus = CreateBus();
        var type = Unique("conc") + ".x";
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int running = 0, peak = 0, finished = 0;
        await using var sub = bus.Subscribe(type, "parallel", async (_, ct) =>
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref peak, now);
            await gate.Task.WaitAsync(ct);
            Interlocked.Decrement(ref running);
            Interlocked.Increment(ref finished);
        }, new SubscriptionOptions { Concurrency = 3 });

        for (var i = 0; i < 8; i++)
        {
            await bus.PublishAsync(Event(type, $"{i}"));
        }

        await Eventually.WaitAsync(() => Volatile.Read(ref running) == 3, Deadline, "three handlers run at once");
        Assert.False(await Eventually.CompletesWithinAsync(
            Eventually.WaitAsync(() => Volatile.Read(ref running) > 3, Deadline), TimeSpan.FromMilliseconds(200)));
        gate.SetResult();
        await Eventually.WaitAsync(() => Volatile.Read(ref finished) == 8, Deadline);
        Assert.Equal(3, Volatile.Read(ref peak));
    }

    [Fact]
    public async Task A_disposed_subscription_gets_nothing_more()
    {
        await using var bus = CreateBus();
        var type = Unique("stop") + ".x";
        ConcurrentQueue<CloudEvent> stopped = new(), witness = new();
        var sub = bus.Subscribe(type, "leaving", Into(stopped));
        await using var other = bus.Subscribe(type, "staying", Into(witness));

        await bus.PublishAsync(Event(type, "before"));
        await Eventually.WaitAsync(() => stopped.Count == 1 && witness.Count == 1, Deadline);

        await sub.DisposeAsync();
        await bus.PublishAsync(Event(type, "after"));
        await Eventually.WaitAsync(() => witness.Count == 2, Deadline);
        await bus.PublishAsync(Event(type, "later"));
        await Eventually.WaitAsync(() => witness.Count == 3, Deadline);

        Assert.Equal(["before"], stopped.Select(e => e.Subject));
    }

    [Fact]
    public async Task Disposing_the_bus_ends_running_handlers_promptly_and_refuses_publishing()
    {
        var bus = CreateBus();
        var type = Unique("end") + ".x";
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sawCancel = false;
        var calls = 0;
        bus.Subscribe(type, "busy", async (_, ct) =>
        {
            Interlocked.Increment(ref calls);
            started.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                sawCancel = true;
                throw;
            }
        });

        await bus.PublishAsync(Event(type));
        await started.Task.WaitAsync(Deadline);
        await bus.PublishAsync(Event(type, "queued behind the busy one"));

        await bus.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5));
        Assert.True(sawCancel);
        Assert.Equal(1, Volatile.Read(ref calls));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => bus.PublishAsync(Event(type)).AsTask());
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
