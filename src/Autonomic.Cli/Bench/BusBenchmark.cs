using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Autonomic.Backends.Bus;
using Autonomic.Backends.Bus.RabbitMq;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;

namespace Autonomic.Cli.Bench;

/// <summary>One measured run: a bus at saturation (<see cref="Rate"/> null) or at a fixed publish rate.</summary>
public sealed record BusBenchRow(
    [property: JsonPropertyName("bus")] string Bus,
    [property: JsonPropertyName("events_per_s")] double EventsPerSecond,
    [property: JsonPropertyName("latency_ms_p50")] double? LatencyMsP50,
    [property: JsonPropertyName("latency_ms_p99")] double? LatencyMsP99,
    [property: JsonPropertyName("rate")] int? Rate);

/// <summary>What <c>autonomic bench bus</c> runs.</summary>
public sealed record BusBenchOptions(IReadOnlyList<string> Buses, int Events, TimeSpan Duration, string AmqpUrl, int Rate = 1000);

/// <summary>
/// <c>autonomic bench bus</c>: events per second and publish-to-handle latency (nearest-rank p50/p99) of the
/// in-memory bus and of RabbitMQ (persistent messages, publisher confirms), each at saturation and at a fixed
/// rate. Every run uses its own consumer group; the RabbitMQ runs use their own exchange and delete it afterwards.
/// </summary>
public static class BusBenchmark
{
    /// <summary>Buses the benchmark knows.</summary>
    public static readonly IReadOnlyList<string> AllBuses = ["memory", "rabbitmq"];

    private const int RabbitPublishers = 64;
    private const int HandlerConcurrency = 16;
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>Builds the <c>bench bus</c> command.</summary>
    public static Command Create()
    {
        var events = new Option<int>("--events") { Description = "Events per saturation run.", DefaultValueFactory = _ => 20_000 };
        var duration = new Option<double>("--duration")
        {
            Description = "Seconds of each fixed-rate run (rate x duration events); also caps a saturation run.",
            DefaultValueFactory = _ => 5,
        };
        var amqp = new Option<string?>("--amqp") { Description = "RabbitMQ URL (default: AUTONOMIC_TEST_RABBITMQ or amqp://guest:guest@127.0.0.1:5672/)." };
        var buses = new Option<string>("--buses") { Description = "Comma-separated: memory, rabbitmq.", DefaultValueFactory = _ => string.Join(',', AllBuses) };
        var rate = new Option<int>("--rate") { Description = "Events per second of the fixed-rate runs.", DefaultValueFactory = _ => 1000 };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the rows as JSON to this file." };
        var command = new Command("bus", "Event bus throughput and publish-to-handle latency: in-memory vs RabbitMQ (persistent, confirmed).")
        {
            events, duration, amqp, buses, rate, json,
        };
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            var url = r.GetValue(amqp) is { Length: > 0 } given ? given
                : Environment.GetEnvironmentVariable("AUTONOMIC_TEST_RABBITMQ") is { Length: > 0 } env ? env
                : "amqp://guest:guest@127.0.0.1:5672/";
            var options = new BusBenchOptions(
                [.. (r.GetValue(buses) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
                r.GetValue(events),
                TimeSpan.FromSeconds(r.GetValue(duration)),
                url,
                r.GetValue(rate));
            return await RunAsync(options, r.GetValue(json), Console.Out, Console.Error, ct);
        });
        return command;
    }

    /// <summary>Runs the benchmark, prints the Markdown table, writes the JSON file if asked; returns the exit code.</summary>
    public static async Task<int> RunAsync(BusBenchOptions options, FileInfo? json, TextWriter stdout, TextWriter stderr, CancellationToken ct)
    {
        var unknown = options.Buses.Except(AllBuses).ToList();
        if (unknown.Count > 0 || options.Events < 1 || options.Rate < 1 || options.Duration <= TimeSpan.Zero)
        {
            await stderr.WriteLineAsync(unknown.Count > 0
                ? $"error: unknown bus: {string.Join(", ", unknown)} (known: {string.Join(", ", AllBuses)})"
                : "error: --events, --rate and --duration must be positive");
            return 2;
        }

        List<BusBenchRow> rows = [];
        try
        {
            foreach (var bus in options.Buses)
            {
                await stderr.WriteLineAsync($"bench bus: {bus}");
                rows.Add(await MeasureAsync(bus, options, null, ct));
                rows.Add(await MeasureAsync(bus, options, options.Rate, ct));
            }
        }
        catch (Exception e) when (e is TimeoutException or PublishBufferFullException)
        {
            await stderr.WriteLineAsync($"error: {e.Message}");
            return 1;
        }

        await stdout.WriteAsync(ToMarkdown(rows));
        if (json is not null)
        {
            await File.WriteAllTextAsync(json.FullName, ToJson(rows), CancellationToken.None);
        }

        return 0;
    }

    /// <summary>The JSON document <c>{"rows": [...]}</c>.</summary>
    public static string ToJson(IReadOnlyList<BusBenchRow> rows) => JsonSerializer.Serialize(new Document(rows), JsonOptions);

    /// <summary>Parses a document written by <see cref="ToJson"/>.</summary>
    public static IReadOnlyList<BusBenchRow> FromJson(string json) => JsonSerializer.Deserialize<Document>(json, JsonOptions)?.Rows ?? [];

    /// <summary>A Markdown table, one line per run.</summary>
    public static string ToMarkdown(IReadOnlyList<BusBenchRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var sb = new StringBuilder();
        sb.AppendLine("| bus | rate (events/s) | events/s | latency p50 ms | latency p99 ms |");
        sb.AppendLine("|---|---:|---:|---:|---:|");
        foreach (var r in rows)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Bus} | {(r.Rate is { } rate ? rate.ToString(CultureInfo.InvariantCulture) : "saturation")} | {r.EventsPerSecond:0} | {Num(r.LatencyMsP50)} | {Num(r.LatencyMsP99)} |");
        }

        return sb.ToString();
    }

    private static string Num(double? v) => v is { } x ? x.ToString("0.##", CultureInfo.InvariantCulture) : "-";

    private static async Task<BusBenchRow> MeasureAsync(string name, BusBenchOptions options, int? rate, CancellationToken ct)
    {
        var count = rate is { } r ? (int)Math.Max(1, Math.Round(r * options.Duration.TotalSeconds)) : options.Events;
        var rabbit = name == "rabbitmq"
            ? new RabbitMqBus(new RabbitMqBusOptions
            {
                Url = options.AmqpUrl,
                Exchange = $"autonomic.bench.{Guid.NewGuid():N}"[..24],
                PublishBufferCapacity = Math.Max(10_000, count),
                ConnectionName = "autonomic-bench",
            })
            : null;
        IEventBus bus = rabbit is null ? new InMemoryBus() : rabbit;
        try
        {
            if (rabbit is not null)
            {
                // Fail fast with a clear message when the broker is not there.
                await rabbit.ListAsync(cancellationToken: ct);
            }

            var latencies = new double[count];
            var handled = 0;
            var all = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            long lastHandled = 0;
            var type = $"bench.{Guid.NewGuid():N}"[..14] + ".event";
            var sub = bus.Subscribe(type, "bench", (e, _) =>
            {
                var now = Stopwatch.GetTimestamp();
                var parts = e.Subject!.Split(':');
                var index = int.Parse(parts[0], CultureInfo.InvariantCulture);
                latencies[index] = Stopwatch.GetElapsedTime(long.Parse(parts[1], CultureInfo.InvariantCulture), now).TotalMilliseconds;
                Volatile.Write(ref lastHandled, now);
                if (Interlocked.Increment(ref handled) == count)
                {
                    all.TrySetResult();
                }

                return Task.CompletedTask;
            }, new SubscriptionOptions { Concurrency = name == "memory" ? 1 : HandlerConcurrency, Capacity = 10_000 });
            await using (sub)
            {
                // One warm-up event outside the measurement: connections, queues and JIT are ready before the clock starts.
                await bus.PublishAsync(CloudEvent.Create("/bench", type + ".warmup", null, TimeProvider.System.GetUtcNow()), ct);

                var deadline = options.Duration * (rate is null ? 1 : 3) + TimeSpan.FromSeconds(10);
                var started = Stopwatch.GetTimestamp();
                var publishing = rate is { } perSecond
                    ? PublishAtRateAsync(bus, type, count, perSecond, ct)
                    : PublishAsFastAsPossibleAsync(bus, type, count, name == "memory" ? 1 : RabbitPublishers, options.Duration, ct);
                var published = await publishing;
                var target = published;
                if (Volatile.Read(ref handled) < target)
                {
                    await Task.WhenAny(all.Task, WaitForAsync(() => Volatile.Read(ref handled) >= target, ct))
                        .WaitAsync(deadline, TimeProvider.System, ct);
                }

                var got = Volatile.Read(ref handled);
                var elapsed = Stopwatch.GetElapsedTime(started, Volatile.Read(ref lastHandled)).TotalSeconds;
                var measured = latencies.Where(l => l > 0).ToList();
                return new BusBenchRow(
                    name,
                    Math.Round(got / Math.Max(elapsed, 1e-9)),
                    Round(Percentile.NearestRank(measured, 50)),
                    Round(Percentile.NearestRank(measured, 99)),
                    rate);
            }
        }
        finally
        {
            if (rabbit is not null)
            {
                try
                {
                    await rabbit.DeleteTopologyAsync(CancellationToken.None);
                }
                catch (Exception e) when (e is TimeoutException or RabbitMQ.Client.Exceptions.RabbitMQClientException)
                {
                    // Nothing to clean up on a broker that was never reached.
                }
            }

            await bus.DisposeAsync();
        }
    }

    private static double? Round(double? v) => v is { } x ? Math.Round(x, 2) : null;

    private static CloudEvent Numbered(string type, int index) =>
        CloudEvent.Create("/bench", type, $"{index}:{Stopwatch.GetTimestamp()}", TimeProvider.System.GetUtcNow());

    /// <summary>Publishes with <paramref name="publishers"/> concurrent loops; returns how many went out before the duration cap.</summary>
    private static async Task<int> PublishAsFastAsPossibleAsync(IEventBus bus, string type, int count, int publishers, TimeSpan cap, CancellationToken ct)
    {
        var next = -1;
        var stopAt = Stopwatch.GetTimestamp() + (long)(cap.TotalSeconds * Stopwatch.Frequency);
        var sent = 0;
        await Task.WhenAll(Enumerable.Range(0, publishers).Select(_ => Task.Run(async () =>
        {
            int index;
            while ((index = Interlocked.Increment(ref next)) < count && Stopwatch.GetTimestamp() < stopAt)
            {
                await bus.PublishAsync(Numbered(type, index), ct);
                Interlocked.Increment(ref sent);
            }
        }, ct)));
        return Volatile.Read(ref sent);
    }

    /// <summary>Publishes at a steady rate without waiting for one confirm before the next event is due.</summary>
    private static async Task<int> PublishAtRateAsync(IEventBus bus, string type, int count, int perSecond, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        ConcurrentBag<Task> inFlight = [];
        for (var i = 0; i < count; i++)
        {
            var due = start + (long)(i * (double)Stopwatch.Frequency / perSecond);
            var ahead = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due);
            if (ahead > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(ahead, ct);
            }

            inFlight.Add(bus.PublishAsync(Numbered(type, i), ct).AsTask());
        }

        await Task.WhenAll(inFlight);
        return count;
    }

    private static async Task WaitForAsync(Func<bool> condition, CancellationToken ct)
    {
        while (!condition())
        {
            await Task.Delay(TimeSpan.FromMilliseconds(5), ct);
        }
    }

    private sealed record Document([property: JsonPropertyName("rows")] IReadOnlyList<BusBenchRow> Rows);
}
