using System.Diagnostics;
using Autonomic.Backends.Leases;
using Autonomic.Core.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Autonomic.Integration.Tests.Leases;

public sealed class RedisLeaseManagerTests : LeaseManagerContract
{
    private readonly RedisTestKeys _keys = new();

    protected override TimeSpan Ttl => TimeSpan.FromSeconds(1);

    protected override Task<ILeaseManager> CreateAsync() => Task.FromResult<ILeaseManager>(new RedisLeaseManager(_keys.Url));

    // Real time on the server's clock: what is being tested is the passage of time itself.
    protected override Task AdvanceAsync(TimeSpan by) => Task.Delay(by);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _keys.DeleteAllAsync();
    }

    [Fact]
    public async Task When_the_holders_process_dies_another_takes_over_within_the_ttl()
    {
        var ttl = TimeSpan.FromMilliseconds(1500);
        var holderProcess = new RedisLeaseManager(_keys.Url);
        await using var otherProcess = new RedisLeaseManager(_keys.Url);
        var keeper = await LeaseKeeper.TryAcquireAsync(holderProcess, "web", "healer-a", ttl);
        Assert.NotNull(keeper);

        // The keeper renews on the server: past two TTLs the other process is still refused.
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < ttl * 2)
        {
            Assert.Null(await otherProcess.TryAcquireAsync("web", "healer-b", ttl));
            await Task.Delay(100);
            Assert.True(keeper.IsHeld, $"the keeper lost the lease after {watch.Elapsed}");
        }

        Assert.True(keeper.IsHeld);
        var firstToken = keeper.Lease.Token;

        // The holder's connection goes away without releasing anything.
        await holderProcess.DisposeAsync();
        watch.Restart();
        Lease? taken = null;
        await Eventually.WaitAsync(
            async () => (taken = await otherProcess.TryAcquireAsync("web", "healer-b", ttl)) is not null,
            ttl * 3,
            "the other process should take the lease over");

        Assert.True(watch.Elapsed < ttl + TimeSpan.FromSeconds(1), $"took over after {watch.Elapsed}");
        Assert.True(taken!.Token > firstToken);
        await Eventually.WaitAsync(() => keeper.Lost.IsCancellationRequested, ttl * 2, "the dead holder's keeper should report the loss");
        await keeper.DisposeAsync();
        Assert.Equal("healer-b", (await otherProcess.GetAsync("web"))?.Owner);
    }

    [Fact]
    public async Task Expiry_follows_the_servers_clock_not_the_clients()
    {
        // One process's clock is stuck years in the past; the lease still ends on time for everyone.
        var skewed = new FakeTimeProvider(new DateTimeOffset(2001, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var skewedProcess = new RedisLeaseManager(_keys.Url, skewed);

        var lease = await skewedProcess.TryAcquireAsync("web", "healer-a", TimeSpan.FromMilliseconds(500));
        Assert.Equal(skewed.GetUtcNow() + TimeSpan.FromMilliseconds(500), lease?.ExpiresAt);
        var seen = await Leases.GetAsync("web");
        Assert.Equal("healer-a", seen?.Owner);
        Assert.InRange(seen!.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(500));

        await Eventually.WaitAsync(
            async () => await Leases.TryAcquireAsync("web", "healer-b", Ttl) is not null,
            TimeSpan.FromSeconds(3),
            "the lease should end after its TTL on the server");
        Assert.Null(await skewedProcess.TryAcquireAsync("web", "healer-a", Ttl));
    }

    [Fact]
    public async Task Keys_live_under_the_configured_prefix_and_are_removed_by_cleanup()
    {
        await Leases.TryAcquireAsync("web", "healer-a", Ttl);

        Assert.Equal(2, await _keys.DeleteAllAsync());
        Assert.Null(await Leases.GetAsync("web"));
    }
}

public sealed class RedisRateLimiterTests : RateLimiterContract
{
    private readonly RedisTestKeys _keys = new();

    protected override Task<IRateLimiter> CreateAsync() => Task.FromResult<IRateLimiter>(new RedisRateLimiter(_keys.Url));

    protected override Task AdvanceAsync(TimeSpan by) => Task.Delay(by);

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _keys.DeleteAllAsync();
    }

    [Fact]
    public async Task Two_processes_share_one_bucket()
    {
        await using var other = new RedisRateLimiter(_keys.Url);

        Assert.True(await Limiter.TryTakeAsync("api", 2, 0.01));
        Assert.True(await other.TryTakeAsync("api", 2, 0.01));
        Assert.False(await Limiter.TryTakeAsync("api", 2, 0.01));
        Assert.False(await other.TryTakeAsync("api", 2, 0.01));
    }
}
