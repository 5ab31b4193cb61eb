using Autonomic.Backends.Leases;
using Autonomic.Core.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Autonomic.Integration.Tests.Leases;

public sealed class InProcessLeaseManagerTests : LeaseManagerContract
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero));

    protected override TimeSpan Ttl => TimeSpan.FromSeconds(30);

    protected override Task<ILeaseManager> CreateAsync() => Task.FromResult<ILeaseManager>(new InProcessLeaseManager(_time));

    protected override Task AdvanceAsync(TimeSpan by)
    {
        _time.Advance(by);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_lease_ends_exactly_at_its_expiry_on_the_injected_clock()
    {
        var lease = await Leases.TryAcquireAsync("web", "healer-a", TimeSpan.FromSeconds(10));
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(10), lease?.ExpiresAt);

        _time.Advance(TimeSpan.FromSeconds(10) - TimeSpan.FromTicks(1));
        Assert.Equal("healer-a", (await Leases.GetAsync("web"))?.Owner);
        _time.Advance(TimeSpan.FromTicks(1));
        Assert.Null(await Leases.GetAsync("web"));
    }

    [Fact]
    public async Task Invalid_arguments_are_refused()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Leases.TryAcquireAsync("web", "a", TimeSpan.Zero));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Leases.TryAcquireAsync("", "a", Ttl));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Leases.TryAcquireAsync("web", "", Ttl));
    }
}

public sealed class InProcessRateLimiterTests : RateLimiterContract
{
    private readonly FakeTimeProvider _time = new();

    protected override Task<IRateLimiter> CreateAsync() => Task.FromResult<IRateLimiter>(new InProcessRateLimiter(_time));

    protected override Task AdvanceAsync(TimeSpan by)
    {
        _time.Advance(by);
        return Task.CompletedTask;
    }
}
