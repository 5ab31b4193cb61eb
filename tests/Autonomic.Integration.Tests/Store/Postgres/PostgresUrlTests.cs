using Autonomic.Backends;
using Autonomic.Backends.Store.Postgres;

namespace Autonomic.Integration.Tests.Store.Postgres;

public sealed class PostgresUrlTests
{
    [Theory]
    [InlineData("postgres://app:s%40cret@db.example:6543/state", "db.example", 6543, "state", "app", "s@cret")]
    [InlineData("postgresql://app:pw@127.0.0.1/state", "127.0.0.1", 5432, "state", "app", "pw")]
    [InlineData("POSTGRES://app@[::1]:5433/st%20ate", "::1", 5433, "st ate", "app", null)]
    public void A_url_becomes_a_connection_string(string url, string host, int port, string database, string user, string? password)
    {
        var b = PostgresUrl.Parse(url);
        Assert.Equal(host, b.Host);
        Assert.Equal(port, b.Port);
        Assert.Equal(database, b.Database);
        Assert.Equal(user, b.Username);
        Assert.Equal(password, b.Password);
        Assert.True(b.Pooling);
    }

    [Fact]
    public void Query_options_are_connection_string_keywords()
    {
        var b = PostgresUrl.Parse("postgres://u:p@h/db?Maximum%20Pool%20Size=7&Timeout=3");
        Assert.Equal(7, b.MaxPoolSize);
        Assert.Equal(3, b.Timeout);
        var error = Assert.Throws<ArgumentException>(() => PostgresUrl.Parse("postgres://u:hunter2@h/db?nonsense=1"));
        Assert.Contains("nonsense", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("postgres://u:hunter2@h")]
    [InlineData("postgres://u:hunter2@/db")]
    [InlineData("mysql://u:hunter2@h/db")]
    public void A_bad_url_is_refused_without_echoing_the_password(string url)
    {
        var error = Assert.Throws<ArgumentException>(() => PostgresUrl.Parse(url));
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("postgres://u:hunter2@h:1/db?x=1", "postgres://u:***@h:1/db?x=1")]
    [InlineData("postgres://u:p:w@rd@h/db", "postgres://u:***@h/db")]
    [InlineData("postgres://u@h/db", "postgres://u@h/db")]
    [InlineData("postgres://u@h/db?Timeout=3&Password=hunter2&x=1", "postgres://u@h/db?Timeout=3&Password=***&x=1")]
    [InlineData("postgres://h/db", "postgres://h/db")]
    [InlineData("sqlite:.autonomic/state.db", "sqlite:.autonomic/state.db")]
    public void Masking_hides_only_the_password(string url, string masked) => Assert.Equal(masked, PostgresUrl.Mask(url));

    [Fact]
    public void The_registry_knows_both_schemes()
    {
        Assert.IsType<PostgresStateStore>(BackendRegistry.CreateStore("postgres://u:p@127.0.0.1/db"));
        Assert.IsType<PostgresStateStore>(BackendRegistry.CreateStore("postgresql://u:p@127.0.0.1/db"));
        var error = Assert.Throws<ArgumentException>(() => BackendRegistry.CreateStore("postgress://u:hunter2@h/db"));
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }
}
