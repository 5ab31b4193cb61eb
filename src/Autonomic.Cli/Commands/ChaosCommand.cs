using System.CommandLine;
using Autonomic.Core.Abstractions;
using Autonomic.Gateway;

namespace Autonomic.Cli.Commands;

/// <summary><c>autonomic chaos kill|hang|leak|cpu TARGET</c>: injects a fault through the API.</summary>
internal static class ChaosCommand
{
    private static readonly Dictionary<string, string> Descriptions = new()
    {
        [Faults.Kill] = "SIGKILL the instance's process",
        [Faults.Hang] = "SIGSTOP the process: alive but unresponsive",
        [Faults.Leak] = "Make the workload leak memory steadily",
        [Faults.Cpu] = "Make the workload burn CPU",
    };

    public static Command Create(ClientRunner runner)
    {
        var command = new Command("chaos", "Inject a fault into an instance to watch Autonomic heal it");
        foreach (var fault in Faults.All)
        {
            var target = new Argument<string>("target") { Description = "SERVICE (its first live instance), SERVICE/INDEX or an instance id" };
            var json = new Option<bool>("--json") { Description = "Print the API's JSON" };
            var sub = new Command(fault, Descriptions.GetValueOrDefault(fault, fault)) { target, json };
            sub.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
            {
                var text = await client.PostJsonAsync("api/v1/chaos", new ChaosRequest(fault, parse.GetValue(target)), ct);
                if (parse.GetValue(json))
                {
                    await runner.Context.Out.WriteLineAsync(text);
                    return 0;
                }

                var result = ApiClient.Parse<FaultResult>(text);
                await runner.Context.Out.WriteLineAsync($"{result.Fault} -> {result.InstanceId} (pid {result.Pid}): {result.Detail}");
                return 0;
            }));
            command.Subcommands.Add(sub);
        }

        return command;
    }
}
