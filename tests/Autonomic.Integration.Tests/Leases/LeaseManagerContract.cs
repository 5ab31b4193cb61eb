using Autonomic.Core.Abstractions;

namespace Autonomic.Integration.Tests.Leases;

/// <summary>
/// What every <see cref="ILeaseManager"/> must do. An implementation's test class says how to make a fresh manager
/// and how to let time pass (a fake clock in process, real time against a server, hence a TTL it chooses).
/// </summary>
public abstract class LeaseManagerContract : IAsyncLifetime
{
    private ILeaseManager? _leases;

    protected ILeaseManager Leases => _leases ?? throw new InvalidOperationException("Not initialised.");

    /// <summary>A TTL long enough that the test's own work never lets a lease expire by accident.</summary>
    protected abstract TimeSpan Ttl { get; }

    /// <summary>A fresh manager that holds no lease.</summary>
    protected abstract Task<ILeaseManager> CreateAsync();

    /// <summary>Lets at least <paramref name="by"/> pass on the manager's clock.</summary>
    protected abstract Task AdvanceAsync(TimeSpan by);

    public virtual async Task InitializeAsync() => _leases = await CreateAsync();

    public virtual async Task DisposeAsync()
    {
        if (_leases is not null)
        {
            await _leases.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_free_key_is_granted_and_reported_as_held()
    {
        Assert.Null(await Leases.GetAsync("web"));

        var lease = await Leases.TryAcquireAsync("web", "healer-a", Ttl);

        Assert.NotNull(lease);
        Assert.Equal(("web", "healer-a"), (lease.Key, lease.Owner));
        Assert.True(lease.Token > 0);
        var held = await Leases.GetAsync("web");
        Assert.Equal(("healer-a", lease.Token), (held?.Owner, held?.Token));
    }

    [Fact]
    public async Task A_second_owner_is_refused_while_the_lease_is_held()
    {
        var first = await Leases.TryAcquireAsync("web", "healer-a", Ttl);

        Assert.Null(await Leases.TryAcquireAsync("web", "healer-b", Ttl));
        Assert.Equal("healer-a", (await Leases.GetAsync("web"))?.Owner);
        Assert.NotNull(first);
    }

    [Fact]
    public async Task Renewal_by_the_holder_extends_the_lease_and_keeps_its_token()
    {
        var first = await Leases.TryAcquireAsync("web", "healer-a", Ttl);
        await AdvanceAsync(Ttl / 2);

        var renewed = await Leases.TryAcquireAsync("web", "healer-a", Ttl);

        Assert.NotNull(first);
        Assert.NotNull(renewed);
        Assert.Equal(first.Token, renewed.Token);
        Assert.True(renewed.ExpiresAt >= first.ExpiresAt + (Ttl / 4), $"{renewed.ExpiresAt:O} should be later than {first.ExpiresAt:O}");

        // Past the first grant's end, but not the renewal's.
        await AdvanceAsync(Ttl * 3 / 4);
        Assert.Null(await Leases.TryAcquireAsync("web", "healer-b", Ttl));
        Assert.Equal("healer-a", (await Leases.GetAsync("web"))?.Owner);
    }

    [Fact]
    public async Task Release_by_a_non_holder_is_ignored_and_by_the_holder_frees_the_key()
    {
        var first = await Leases.TryAcquireAsync("web", "healer-a", Ttl);

        await Leases.ReleaseAsync("web", "healer-b");
        Assert.Equal("healer-a", (await Leases.GetAsync("web"))?.Owner);
        Assert.Null(await Leases.TryAcquireAsync("web", "healer-c", Ttl));

        await Leases.ReleaseAsync("web", "healer-a");
        Assert.Null(await Leases.GetAsync("web"));
        var next = await Leases.TryAcquireAsync("web", "healer-b", Ttl);
        Assert.NotNull(next);
        Assert.True(next.Token > first!.Token);
    }

    [Fact]
    public async Task An_expired_lease_lets_another_owner_in()
    {
        var first = await Leases.TryAcquireAsync("web", "healer-a", Ttl);
        await AdvanceAsync(Ttl / 2);
        Assert.Null(await Leases.TryAcquireAsync("web", "healer-b", Ttl));

        await AdvanceAsync(Ttl / 2);
        Lease? taken = null;
        await Eventually.WaitAsync(
            async () => (taken = await Leases.TryAcquireAsync("web", "healer-b", Ttl)) is not null,
            Ttl + TimeSpan.FromSeconds(2),
            "the expired lease should go to the next owner");

        Assert.True(taken!.Token > first!.Token);
        Assert.Equal("healer-b", (await Leases.GetAsync("web"))?.Owner);
    }

    [Fact]
    public async Task The_fencing_token_grows_on_every_new_grant_and_not_on_renewal()
    {
        var a1 = (await Leases.TryAcquireAsync("web", "healer-a", Ttl))!;
        var a2 = (await Leases.TryAcquireAsync("web", "healer-a", Ttl))!;
        await Leases.ReleaseAsync("web", "healer-a");
        var b1 = (await Leases.TryAcquireAsync("web", "healer-b", Ttl))!;
        var b2 = (await Leases.TryAcquireAsync("web", "healer-b", Ttl))!;
        await Leases.ReleaseAsync("web", "healer-b");
        var a3 = (await Leases.TryAcquireAsync("web", "healer-a", Ttl))!;

        Assert.Equal(a1.Token, a2.Token);
        Assert.Equal(b1.Token, b2.Token);
        Assert.True(b1.Token > a1.Token, $"{b1.Token} > {a1.Token}");
        Assert.True(a3.Token > b1.Token, $"{a3.Token} > {b1.Token}");
        Assert.Equal(a3.Token, (await Leases.GetAsync("web"))?.Token);
    }

    [Fact]
    public async Task Keys_are_independent()
    {
        var web = await Leases.TryAcquireAsync("web", "healer-a", Ttl);
        var db = await Leases.TryAcquireAsync("db", "healer-b", Ttl);

        Assert.NotNull(web);
        Assert.NotNull(db);
        Assert.Equal("healer-b", (await Leases.GetAsync("db"))?.Owner);
        Assert.Equal("healer-a", (await Leases.GetAsync("web"))?.Owner);
    }

    [Fact]
    public async Task Of_twenty_concurrent_contenders_exactly_one_holds_the_lease()
    {
        using var start = new ManualResetEventSlim();
        var contenders = Enumerable.Range(0, 20)
            .Select(i => Task.Run(async () =>
            {
                start.Wait();
                return await Leases.TryAcquireAsync("web", $"healer-{i}", Ttl);
            }))
            .ToArray();
        start.Set();

        var results = await Task.WhenAll(contenders);

        var winner = Assert.Single(results, r => r is not null);
        Assert.Equal(winner!.Owner, (await Leases.GetAsync("web"))?.Owner);
    }
}
