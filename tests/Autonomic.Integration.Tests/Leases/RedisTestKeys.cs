using StackExchange.Redis;

namespace Autonomic.Integration.Tests.Leases;

/// <summary>
/// The test Redis (AUTONOMIC_TEST_REDIS, else the loopback default) under a key prefix of one test's own, so that
/// tests and other users of the server never see each other's keys; <see cref="DeleteAllAsync"/> removes them.
/// </summary>
internal sealed class RedisTestKeys
{
    public RedisTestKeys()
    {
        ServerUrl = Environment.GetEnvironmentVariable("AUTONOMIC_TEST_REDIS") is { Length: > 0 } url ? url : "redis://127.0.0.1:6379/0";
        Prefix = $"autonomic-test:{Guid.NewGuid():N}:";
        Url = ServerUrl + (ServerUrl.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "prefix=" + Uri.EscapeDataString(Prefix);
    }

    public string ServerUrl { get; }

    public string Prefix { get; }

    /// <summary>The server URL with this test's prefix.</summary>
    public string Url { get; }

    public async Task<int> DeleteAllAsync()
    {
        var parsed = Autonomic.Backends.Leases.RedisUrl.Parse(ServerUrl);
        var options = new ConfigurationOptions { User = parsed.User, Password = parsed.Password, DefaultDatabase = parsed.Database };
        options.EndPoints.Add(parsed.Host, parsed.Port);
        await using var connection = await ConnectionMultiplexer.ConnectAsync(options);
        var deleted = 0;
        foreach (var endpoint in connection.GetEndPoints())
        {
            await foreach (var key in connection.GetServer(endpoint).KeysAsync(parsed.Database, Prefix + "*"))
            {
                deleted += await connection.GetDatabase(parsed.Database).KeyDeleteAsync(key) ? 1 : 0;
            }
        }

        return deleted;
    }
}
