using System.Diagnostics;
using Autonomic.Backends.Bus.RabbitMq;
using RabbitMQ.Client;

namespace Autonomic.Integration.Tests.Bus.RabbitMq;

/// <summary>The test broker (AUTONOMIC_TEST_RABBITMQ, else the loopback default) and ways to clean up after a test.</summary>
internal static class RabbitMqTestBroker
{
    public static string Url => Environment.GetEnvironmentVariable("AUTONOMIC_TEST_RABBITMQ") is { Length: > 0 } url
        ? url
        : "amqp://guest:guest@127.0.0.1:5672/";

    /// <summary>The same broker in another vhost.</summary>
    public static string UrlForVhost(string vhost) => new UriBuilder(Url) { Path = "/" + Uri.EscapeDataString(vhost) }.Uri.AbsoluteUri;

    /// <summary>Deletes what the buses declared: their queues, dead-letter queues and exchanges.</summary>
    public static async Task DeleteTopologyAsync(IEnumerable<RabbitMqBus> buses)
    {
        var list = buses.ToList();
        if (list.Count == 0)
        {
            return;
        }

        var factory = new ConnectionFactory { Uri = new Uri(list[0].Options.Url) };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        foreach (var bus in list)
        {
            foreach (var queue in bus.DeclaredQueues.Append(bus.Options.DeadLetterQueue))
            {
                await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
            }

            await channel.ExchangeDeleteAsync(bus.Options.Exchange, ifUnused: false);
        }
    }

    /// <summary>Runs rabbitmqctl against the local node and fails the test on a non-zero exit.</summary>
    public static async Task CtlAsync(params string[] args)
    {
        var start = new ProcessStartInfo("rabbitmqctl") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-q");
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(process.ExitCode == 0, $"rabbitmqctl {string.Join(' ', args)} exited {process.ExitCode}: {await stdout}{await stderr}");
    }
}
