using System.CommandLine;
using System.Globalization;
using Autonomic.Backends.Bus;
using Autonomic.Backends.Bus.RabbitMq;
using Autonomic.Core.Abstractions;

namespace Autonomic.Cli.Commands;

/// <summary>
/// <c>autonomic dlq list|replay|purge [--group G] [--bus URL]</c>: the dead-letter queue of a RabbitMQ bus (the bus
/// URL from <c>--bus</c> or <c>AUTONOMIC_BUS</c>). Exit 0 on success, 1 when the broker cannot be reached,
/// 2 for a bus that keeps no dead-letter queue.
/// </summary>
public static class DlqCommand
{
    /// <summary>Builds the <c>dlq</c> command.</summary>
    public static Command Create()
    {
        var dlq = new Command("dlq", "Events that consumer groups gave up on: list them, replay them, or purge them.");
        dlq.Subcommands.Add(Sub("list", "List dead letters, oldest first.", async (q, group, ct) =>
        {
            var letters = await q.ListAsync(group, ct);
            await Console.Out.WriteAsync(Render(letters));
        }));
        dlq.Subcommands.Add(Sub("replay", "Send dead letters back to the group that failed them.", async (q, group, ct) =>
            await Console.Out.WriteLineAsync($"replayed {await q.ReplayAsync(group, ct)}")));
        dlq.Subcommands.Add(Sub("purge", "Delete dead letters.", async (q, group, ct) =>
            await Console.Out.WriteLineAsync($"purged {await q.PurgeAsync(group, ct)}")));
        return dlq;
    }

    /// <summary>A plain table of dead letters, one per line.</summary>
    public static string Render(IReadOnlyList<DeadLetter> letters)
    {
        if (letters.Count == 0)
        {
            return "no dead letters\n";
        }

        var lines = letters.Select(l => string.Join('\t',
            l.At.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            l.Group,
            l.Event.Type,
            l.Event.Id,
            l.Event.Subject ?? "-",
            l.Attempts.ToString(CultureInfo.InvariantCulture),
            l.Error.ReplaceLineEndings(" ")));
        return string.Join('\n', lines.Prepend("at\tgroup\ttype\tid\tsubject\tattempts\terror")) + "\n";
    }

    private static Command Sub(string name, string description, Func<IDeadLetterQueue, string?, CancellationToken, Task> run)
    {
        var group = new Option<string?>("--group") { Description = "Only this consumer group." };
        var bus = new Option<string?>("--bus") { Description = "Bus URL, e.g. amqp://user:pw@host:5672/vhost (default: AUTONOMIC_BUS)." };
        var exchange = new Option<string>("--exchange") { Description = "The bus's exchange.", DefaultValueFactory = _ => "autonomic.events" };
        var command = new Command(name, description) { group, bus, exchange };
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            var url = r.GetValue(bus) is { Length: > 0 } given ? given : Environment.GetEnvironmentVariable("AUTONOMIC_BUS");
            if (url is null or "")
            {
                await Console.Error.WriteLineAsync("error: no bus: pass --bus URL or set AUTONOMIC_BUS");
                return 2;
            }

            if (!url.StartsWith("amqp://", StringComparison.OrdinalIgnoreCase) && !url.StartsWith("amqps://", StringComparison.OrdinalIgnoreCase))
            {
                await Console.Error.WriteLineAsync($"error: bus '{AmqpUrl.Mask(url)}' keeps no dead-letter queue outside its process; dlq needs an amqp:// bus");
                return 2;
            }

            await using var rabbit = new RabbitMqBus(new RabbitMqBusOptions
            {
                Url = url,
                Exchange = r.GetValue(exchange) ?? "autonomic.events",
                ConnectionName = "autonomic-dlq",
            });
            try
            {
                await run(rabbit, r.GetValue(group), ct);
                return 0;
            }
            catch (TimeoutException e)
            {
                await Console.Error.WriteLineAsync($"error: {e.Message}");
                return 1;
            }
        });
        return command;
    }
}
