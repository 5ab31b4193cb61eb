using System.CommandLine;
using Autonomic.Core.Model;
using Spectre.Console;

namespace Autonomic.Cli.Commands;

/// <summary><c>autonomic actions [--incident ID] [--limit N] [--json]</c>: the audit trail of what agents did and why.</summary>
internal static class ActionsCommand
{
    public static Command Create(ClientRunner runner)
    {
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of a table" };
        var limit = IncidentsCommand.Limit(50);
        var incident = new Option<string?>("--incident") { Description = "Only the actions of this incident" };
        var command = new Command("actions", "List agent actions, newest first") { json, limit, incident };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var path = $"api/v1/actions?limit={parse.GetValue(limit)}";
            if (parse.GetValue(incident) is { Length: > 0 } id)
            {
                path += $"&incident={Uri.EscapeDataString(id)}";
            }

            var text = await client.GetTextAsync(path, ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            Render(runner.Context, ApiClient.Parse<List<AgentAction>>(text));
            return 0;
        }));
        return command;
    }

    internal static void Render(CliContext context, IReadOnlyList<AgentAction> actions)
    {
        if (actions.Count == 0)
        {
            context.Console.Write(new Text("no actions\n"));
            return;
        }

        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in new[] { "time", "agent", "kind", "subject", "rule", "status", "reason" })
        {
            table.AddColumn(column);
        }

        foreach (var a in actions)
        {
            table.AddRow(
                new Text(Format.Time(a.CreatedAt)),
                new Text(a.Agent),
                new Text(a.Kind),
                new Text(a.Subject),
                new Text(a.Rule),
                new Text(a.Status.ToString().ToLowerInvariant(), new Style(a.Status switch
                {
                    ActionStatus.Succeeded => Color.Green,
                    ActionStatus.Failed => Color.Red,
                    ActionStatus.Intent => Color.Yellow,
                    _ => Color.Grey,
                })),
                new Text(a.Outcome is { Length: > 0 } o ? $"{a.Reason} ({o})" : a.Reason));
        }

        context.Console.Write(table);
    }
}
