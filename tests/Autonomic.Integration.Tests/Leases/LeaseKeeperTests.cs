using Autonomic.Backends.Leases;
using Autonomic.Core.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Autonomic.Integration.Tests.Leases;

public sealed class LeaseKeeperTests : IAsyncDisposable
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(5);

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly FlakyLeaseManager _leases;
    private TimeSpan _elapsed;

    public LeaseKeeperTests() => _leases = new FlakyLeaseManager(new InProcessLeaseManager(_time));

    public ValueTask DisposeAsync() => _leases.DisposeAsync();

    [Fact]
    public async Task The_lease_stays_held_across_many_ttls_while_the_keeper_renews_it()
    {
        await using var keeper = (await LeaseKeeper.TryAcquireAsync(_leases, "web", "healer-a", Ttl, _time))!;
        var token = keeper.Lease.Token;

        await RunClockAsync(Ttl * 3, keeper);

        Assert.Equal(1 + 9, _leases.Attempts);
        Assert.True(keeper.IsHeld);
        Assert.False(keeper.Lost.IsCancellationRequested);
        Assert.Equal(token, keeper.Lease.Token);
        Assert.Null(await _leases.TryAcquireAsync("web", "healer-b", Ttl));
    }

    [Fact]
    public async Task A_second_keeper_is_refused_while_the_first_holds_the_lease()
    {
        await using var first = await LeaseKeeper.TryAcquireAsync(_leases, "web", "healer-a", Ttl, _time);

        Assert.NotNull(first);
        Assert.Null(await LeaseKeeper.TryAcquireAsync(_leases, "web", "healer-b", Ttl, _time));
    }

    [Fact]
    public async Task Losing_the_lease_to_another_owner_cancels_the_lost_token()
    {
        var keeper = (await LeaseKeeper.TryAcquireAsync(_leases, "web", "healer-a", Ttl, _time))!;

        // As if the holder had stalled past its TTL: the lease goes to someone else.
        await _leases.ReleaseAsync("web", "healer-a");
        Assert.NotNull(await _leases.TryAcquireAsync("web", "healer-b", Ttl));
        await RunClockAsync(Ttl / 3, keeper);

        await Eventually.WaitAsync(() => keeper.Lost.IsCancellationRequested, Patience, "the renewal should find the lease taken");
        Assert.False(keeper.IsHeld);

        // Disposing the loser leaves the new holder alone.
        await keeper.DisposeAsync();
        Assert.Equal("healer-b", (await _leases.GetAsync("web"))?.Owner);
    }

    [Fact]
    public async Task An_outage_shorter_than_the_ttl_keeps_the_lease()
    {
        await using var keeper = (await LeaseKeeper.TryAcquireAsync(_leases, "web", "healer-a", Ttl, _time))!;

        _leases.Failing = true;
        await RunClockAsync(Ttl / 3, keeper);
        Assert.Equal(1, _leases.Failures);
        _leases.Failing = false;

        await RunClockAsync(Ttl * 2, keeper);
        await Eventually.WaitAsync(() => keeper.Lease.ExpiresAt > _time.GetUtcNow() + (Ttl / 2), Patience, "the last renewal should land");
        Assert.True(keeper.IsHeld);
        Assert.Equal("healer-a", (await _leases.GetAsync("web"))?.Owner);
    }

    [Fact]
    public async Task Renewals_failing_for_a_whole_ttl_report_the_lease_lost()
    {
        await using var keeper = (await LeaseKeeper.TryAcquireAsync(_leases, "web", "healer-a", Ttl, _time))!;
        _leases.Failing = true;

        await RunClockAsync(Ttl * 2 / 3, keeper);
        Assert.Equal(2, _leases.Failures);
        Assert.False(keeper.Lost.IsCancellationRequested, "two failed renewals within the TTL are not a loss yet");

        await RunClockAsync(Ttl / 3, keeper);
        await Eventually.WaitAsync(() => keeper.Lost.IsCancellationRequested, Patience, "a whole TTL without renewal is a loss");
    }

    [Fact]
    public async Task Disposing_the_keeper_releases_the_lease()
    {
        var keeper = (await LeaseKeeper.TryAcquireAsync(_leases, "web", "healer-a", Ttl, _time))!;

        await keeper.DisposeAsync();

        Assert.False(keeper.IsHeld);
        Assert.False(keeper.Lost.IsCancellationRequested);
        Assert.Null(await _leases.GetAsync("web"));
        Assert.NotNull(await _leases.TryAcquireAsync("web", "healer-b", Ttl));
    }

    /// <summary>
    /// Moves the fake clock forward in small steps; each time a renewal tick falls due (every TTL/3 from the keeper's
    /// start, which is this test's start), waits until the keeper has tried it, so the test never outruns the
    /// keeper's own real-time loop.
    /// </summary>
    private async Task RunClockAsync(TimeSpan by, LeaseKeeper keeper)
    {
        var until = _elapsed + by;
        while (_elapsed < until)
        {
            _time.Advance(Step);
            _elapsed += Step;
            var due = 1 + (int)(_elapsed.Ticks / (Ttl / 3).Ticks);
            await Eventually.WaitAsync(() => _leases.Attempts >= due || keeper.Lost.IsCancellationRequested, Patience, $"renewal {due - 1} should have been tried by {_elapsed}");
        }
    }

    /// <summary>A lease manager whose backend can be made unreachable, as during a network partition.</summary>
    private sealed class FlakyLeaseManager(ILeaseManager inner) : ILeaseManager
    {
        private int _attempts;
        private int _failures;

        public volatile bool Failing;

        public int Attempts => Volatile.Read(ref _attempts);

        public int Failures => Volatile.Read(ref _failures);

        public Task<Lease?> TryAcquireAsync(string key, string owner, TimeSpan ttl, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _attempts);
            if (Failing)
            {
                Interlocked.Increment(ref _failures);
                throw new IOException("backend unreachable");
            }

            return inner.TryAcquireAsync(key, owner, ttl, cancellationToken);
        }

        public Task ReleaseAsync(string key, string owner, CancellationToken cancellationToken = default) =>
            inner.ReleaseAsync(key, owner, cancellationToken);

        public Task<Lease?> GetAsync(string key, CancellationToken cancellationToken = default) => inner.GetAsync(key, cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
