using Autonomic.Backends.Bus;
using Autonomic.Backends.Store;
using Autonomic.Backends.Store.Postgres;
using Autonomic.Core.Abstractions;
using Microsoft.Extensions.Logging;

namespace Autonomic.Backends;

/// <summary>
/// Backends named by URL scheme, resolved at start-up. An unknown scheme is an error that names the known ones
/// and the closest match ("unknown bus 'amq://': did you mean 'memory://'?").
/// </summary>
public static class BackendRegistry
{
    /// <summary>Bus schemes this build knows.</summary>
    public static readonly IReadOnlyList<string> BusSchemes = ["memory", "amqp", "amqps"];

    /// <summary>Store schemes this build knows.</summary>
    public static readonly IReadOnlyList<string> StoreSchemes = ["sqlite", "postgres", "postgresql"];

    /// <summary>Creates the bus named by <paramref name="url"/>.</summary>
    public static IEventBus CreateBus(string url, TimeProvider time, ILoggerFactory loggers) => Scheme(url, "bus") switch
    {
        "memory" => new InMemoryBus(time, loggers.CreateLogger<InMemoryBus>()),
        "amqp" or "amqps" => new Bus.RabbitMq.RabbitMqBus(url, time, loggers.CreateLogger<Bus.RabbitMq.RabbitMqBus>()),
        var s => throw Unknown("bus", url, s, BusSchemes),
    };

    /// <summary>Creates the store named by <paramref name="url"/>; call <see cref="IStateStore.MigrateAsync"/> before use.</summary>
    public static IStateStore CreateStore(string url, ILoggerFactory? loggers = null) => Scheme(url, "store") switch
    {
        "sqlite" => new SqliteStateStore(url),
        "postgres" or "postgresql" => new PostgresStateStore(url, loggers?.CreateLogger<PostgresStateStore>()),
        var s => throw Unknown("store", url, s, StoreSchemes),
    };

    private static string Scheme(string url, string kind)
    {
        var colon = url.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            throw new ArgumentException($"{kind} URL '{PostgresUrl.Mask(url)}' has no scheme; expected one of: {string.Join(", ", (kind == "bus" ? BusSchemes : StoreSchemes).Select(s => s + ":"))}");
        }

        return url[..colon].ToLowerInvariant();
    }

    private static ArgumentException Unknown(string kind, string url, string scheme, IReadOnlyList<string> known)
    {
        var best = known.OrderBy(k => Distance(k, scheme)).First();
        var hint = Distance(best, scheme) <= Math.Max(2, best.Length / 2) ? $" did you mean '{best}:'?" : "";
        return new ArgumentException($"unknown {kind} '{PostgresUrl.Mask(url)}':{hint} known: {string.Join(", ", known.Select(k => k + ":"))}");
    }

    /// <summary>Levenshtein distance, for suggestions.</summary>
    public static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++)
        {
            d[i, 0] = i;
        }

        for (var j = 0; j <= b.Length; j++)
        {
            d[0, j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + cost);
            }
        }

        return d[a.Length, b.Length];
    }
}
