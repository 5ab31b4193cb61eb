using System.Security.Cryptography;
using System.Text;

namespace Autonomic.Backends.Bus.RabbitMq;

/// <summary>
/// Where and how a <see cref="RabbitMqBus"/> connects. Queue names derive from <see cref="Exchange"/>, so two buses
/// with different exchanges on one broker never share a queue.
/// </summary>
public sealed record RabbitMqBusOptions
{
    /// <summary><c>amqp://user:password@host:port/vhost</c>; the vhost is URL-encoded (<c>%2F</c> for <c>/</c>, or empty).</summary>
    public required string Url { get; init; }

    /// <summary>The durable topic exchange events are published to.</summary>
    public string Exchange { get; init; } = "autonomic.events";

    /// <summary>Events held in memory while the broker is unreachable; one more throws <see cref="PublishBufferFullException"/>.</summary>
    public int PublishBufferCapacity { get; init; } = 10_000;

    /// <summary>Pause between reconnection attempts.</summary>
    public TimeSpan RecoveryInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long dead-letter operations wait for a first connection before giving up.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Name the connection shows in the broker's management tools.</summary>
    public string ConnectionName { get; init; } = "autonomic";

    /// <summary>The durable queue that holds the events every group of this exchange gave up on.</summary>
    public string DeadLetterQueue => $"{Exchange}.dead-letters";

    /// <summary>
    /// Options from a bus URL: <c>amqp://user:pw@host:port/vhost[?exchange=NAME]</c>. The <c>exchange</c> query
    /// parameter picks the exchange (default <c>autonomic.events</c>) and is not passed on to the client.
    /// </summary>
    public static RabbitMqBusOptions FromUrl(string url)
    {
        var q = url.IndexOf('?', StringComparison.Ordinal);
        if (q < 0)
        {
            return new RabbitMqBusOptions { Url = url };
        }

        var exchange = "autonomic.events";
        var rest = new List<string>();
        foreach (var pair in url[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            if (pair.StartsWith("exchange=", StringComparison.Ordinal))
            {
                exchange = Uri.UnescapeDataString(pair["exchange=".Length..]);
            }
            else
            {
                rest.Add(pair);
            }
        }

        return new RabbitMqBusOptions { Url = url[..q] + (rest.Count > 0 ? "?" + string.Join('&', rest) : ""), Exchange = exchange };
    }

    /// <summary>The durable queue of a consumer group: one per (group, pattern), like the in-memory bus.</summary>
    public string QueueName(string group, string pattern)
    {
        var name = $"{Exchange}.{group}.{pattern}";
        if (Encoding.UTF8.GetByteCount(name) <= 200)
        {
            return name;
        }

        // AMQP names stop at 255 bytes: keep a readable head and make the rest unique.
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..16];
        return $"{Exchange}.{Truncate(group, 80)}.{hash}";
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max];
}
