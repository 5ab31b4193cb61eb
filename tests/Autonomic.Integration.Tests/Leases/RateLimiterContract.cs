using Autonomic.Core.Abstractions;

namespace Autonomic.Integration.Tests.Leases;

/// <summary>
/// What every <see cref="IRateLimiter"/> must do. An implementation's test class says how to make a fresh limiter
/// and how to let time pass. Rates are chosen so that the test's own work refills well under one token.
/// </summary>
public abstract class RateLimiterContract : IAsyncLifetime
{
    private IRateLimiter? _limiter;

    protected IRateLimiter Limiter => _limiter ?? throw new InvalidOperationException("Not initialised.");

    /// <summary>A fresh limiter whose buckets are all full.</summary>
    protected abstract Task<IRateLimiter> CreateAsync();

    /// <summary>Lets at least <paramref name="by"/> pass on the limiter's clock.</summary>
    protected abstract Task AdvanceAsync(TimeSpan by);

    public virtual async Task InitializeAsync() => _limiter = await CreateAsync();

    public virtual async Task DisposeAsync()
    {
        if (_limiter is not null)
        {
            await _limiter.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_full_bucket_allows_a_burst_of_its_capacity_then_refuses()
    {
        var taken = new List<bool>();
        for (var i = 0; i < 7; i++)
        {
            taken.Add(await Limiter.TryTakeAsync("restart:web", 5, 0.5));
        }

        Assert.Equal([true, true, true, true, true, false, false], taken);
    }

    [Fact]
    public async Task An_empty_bucket_refills_at_its_rate_up_to_its_capacity()
    {
        // One token a second: each step below leaves more than half a second for the test's own work.
        Assert.True(await Limiter.TryTakeAsync("restart:web", 2, 1));
        Assert.True(await Limiter.TryTakeAsync("restart:web", 2, 1));
        Assert.False(await Limiter.TryTakeAsync("restart:web", 2, 1));

        // 1.4 s: one token and a fraction.
        await AdvanceAsync(TimeSpan.FromMilliseconds(1400));
        Assert.True(await Limiter.TryTakeAsync("restart:web", 2, 1));
        Assert.False(await Limiter.TryTakeAsync("restart:web", 2, 1));

        // Long enough for four tokens, but the bucket holds two.
        await AdvanceAsync(TimeSpan.FromSeconds(4));
        Assert.True(await Limiter.TryTakeAsync("restart:web", 2, 1));
        Assert.True(await Limiter.TryTakeAsync("restart:web", 2, 1));
        Assert.False(await Limiter.TryTakeAsync("restart:web", 2, 1));
    }

    [Fact]
    public async Task Separate_keys_have_separate_buckets()
    {
        Assert.True(await Limiter.TryTakeAsync("restart:web", 1, 0.01));
        Assert.False(await Limiter.TryTakeAsync("restart:web", 1, 0.01));

        Assert.True(await Limiter.TryTakeAsync("restart:db", 1, 0.01));
        Assert.False(await Limiter.TryTakeAsync("restart:db", 1, 0.01));
    }

    [Fact]
    public async Task Concurrent_takers_never_get_more_than_the_capacity()
    {
        using var start = new ManualResetEventSlim();
        var takers = Enumerable.Range(0, 50)
            .Select(_ => Task.Run(async () =>
            {
                start.Wait();
                return await Limiter.TryTakeAsync("api", 10, 0.001);
            }))
            .ToArray();
        start.Set();

        var results = await Task.WhenAll(takers);

        Assert.Equal(10, results.Count(r => r));
    }

    [Fact]
    public async Task Invalid_buckets_are_refused()
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Limiter.TryTakeAsync("api", 0, 1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Limiter.TryTakeAsync("api", 1, 0));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Limiter.TryTakeAsync("", 1, 1));
    }
}
