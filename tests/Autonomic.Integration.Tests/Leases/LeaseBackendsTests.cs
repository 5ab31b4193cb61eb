using Autonomic.Backends.Leases;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Autonomic.Integration.Tests.Leases;

public sealed class LeaseBackendsTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("inprocess://")]
    public async Task The_default_is_in_process(string? url)
    {
        var (leases, limiter) = LeaseBackends.Create(url, TimeProvider.System, NullLoggerFactory.Instance);
        await using var _ = leases;
        await using var __ = limiter;

        Assert.IsType<InProcessLeaseManager>(leases);
        Assert.IsType<InProcessRateLimiter>(limiter);
    }

    [Fact]
    public async Task Redis_urls_give_redis_backends_on_one_connection()
    {
        var keys = new RedisTestKeys();
        var (leases, limiter) = LeaseBackends.Create(keys.Url, TimeProvider.System, NullLoggerFactory.Instance);
        Assert.IsType<RedisLeaseManager>(leases);
        Assert.IsType<RedisRateLimiter>(limiter);

        Assert.NotNull(await leases.TryAcquireAsync("web", "healer-a", TimeSpan.FromSeconds(5)));
        await leases.DisposeAsync();

        // The limiter still works: the shared connection closes only with its last user.
        Assert.True(await limiter.TryTakeAsync("api", 1, 1));
        await limiter.DisposeAsync();
        Assert.Equal(2 + 1, await keys.DeleteAllAsync());
    }

    [Fact]
    public void An_unknown_scheme_names_the_known_ones_and_the_closest()
    {
        var error = Assert.Throws<ArgumentException>(() => LeaseBackends.Create("rdis://:hunter2@10.0.0.1/0", TimeProvider.System, NullLoggerFactory.Instance));

        Assert.Contains("did you mean 'redis:'?", error.Message);
        Assert.Contains("inprocess:, redis:", error.Message);
        Assert.DoesNotContain("hunter2", error.Message);
    }

    [Fact]
    public void Redis_urls_are_parsed_with_defaults_and_masked()
    {
        var full = RedisUrl.Parse("redis://:p%40ss@10.0.0.7:6390/3?prefix=team1:&connectTimeout=250");
        Assert.Equal(("10.0.0.7", 6390, 3, null, "p@ss", "team1:"), (full.Host, full.Port, full.Database, full.User, full.Password, full.Prefix));
        Assert.Equal(TimeSpan.FromMilliseconds(250), full.ConnectTimeout);
        Assert.Equal("redis://:***@10.0.0.7:6390/3", full.Masked);
        Assert.Equal(full.Masked, full.ToString());

        var plain = RedisUrl.Parse("redis://127.0.0.1");
        Assert.Equal((6379, 0, RedisUrl.DefaultPrefix, null), (plain.Port, plain.Database, plain.Prefix, plain.Password));
        Assert.Equal("redis://127.0.0.1:6379/0", plain.Masked);

        Assert.Equal("redis://ops:***@h:1/0", RedisUrl.Parse("redis://ops:secret@h:1").Masked);
        Assert.Throws<ArgumentException>(() => RedisUrl.Parse("redis://h/notanumber"));
        Assert.Throws<ArgumentException>(() => RedisUrl.Parse("redis://h/0?colour=blue"));
        Assert.Throws<ArgumentException>(() => RedisUrl.Parse("http://h"));
    }

    [Fact]
    public async Task An_unreachable_server_fails_clearly_without_showing_the_password()
    {
        var logs = new ListLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        // Port 1 on loopback: nothing listens there, so the connection is refused at once.
        var (leases, limiter) = LeaseBackends.Create("redis://:hunter2@127.0.0.1:1/0?connectTimeout=500", TimeProvider.System, loggers);
        await using var _ = leases;
        await using var __ = limiter;

        var error = await Assert.ThrowsAsync<LeaseBackendUnavailableException>(() => leases.TryAcquireAsync("web", "healer-a", TimeSpan.FromSeconds(1)));
        await Assert.ThrowsAsync<LeaseBackendUnavailableException>(() => limiter.TryTakeAsync("api", 1, 1));

        Assert.Contains("redis://:***@127.0.0.1:1/0", error.Message);
        Assert.IsAssignableFrom<IOException>(error);
        Assert.DoesNotContain("hunter2", error.ToString());
        Assert.NotEmpty(logs.Messages);
        Assert.DoesNotContain(logs.Messages, m => m.Contains("hunter2", StringComparison.Ordinal));
    }

    private sealed class ListLoggerProvider : ILoggerProvider
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _messages = new();

        public IReadOnlyCollection<string> Messages => _messages;

        public ILogger CreateLogger(string categoryName) => new ListLogger(_messages);

        public void Dispose()
        {
        }

        private sealed class ListLogger(System.Collections.Concurrent.ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue(formatter(state, exception) + " " + exception);
        }
    }
}
