using System.CommandLine;
using System.Net;
using Autonomic.Agents.Security.Rules;
using Autonomic.Core.Model;
using Autonomic.Core.Security;
using Spectre.Console;

namespace Autonomic.Cli.Commands;

/// <summary>A block as the API lists it.</summary>
internal sealed record BlockListItem(BlockRecord Block, bool InForce);

/// <summary>
/// <c>autonomic security alerts|blocks|unblock IP|rules</c> and <c>autonomic audit [--agent A] [--kind K] [--since T]</c>.
/// </summary>
internal static class SecurityCommand
{
    public static Command Create(ClientRunner runner)
    {
        var command = new Command("security", "Security alerts, blocks and rules");
        command.Subcommands.Add(Alerts(runner));
        command.Subcommands.Add(Blocks(runner));
        command.Subcommands.Add(Unblock(runner));
        command.Subcommands.Add(Rules(runner));
        return command;
    }

    private static Command Alerts(ClientRunner runner)
    {
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of a table" };
        var limit = IncidentsCommand.Limit(50);
        var command = new Command("alerts", "Security alerts, newest first") { json, limit };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var text = await client.GetTextAsync($"api/v1/security/alerts?limit={parse.GetValue(limit)}", ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            var alerts = ApiClient.Parse<List<SecurityAlert>>(text);
            if (alerts.Count == 0)
            {
                runner.Context.Console.Write(new Text("no alerts\n"));
                return 0;
            }

            var table = Table("time", "rule", "class", "severity", "source", "response", "reason");
            foreach (var a in alerts)
            {
                table.AddRow(Cells(Format.Time(a.Time), a.Rule, a.Class, a.Severity.ToString().ToLowerInvariant(), Format.Or(a.SourceIp ?? a.KeyId), a.Response, a.Reason));
            }

            runner.Context.Console.Write(table);
            return 0;
        }));
        return command;
    }

    private static Command Blocks(ClientRunner runner)
    {
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of a table" };
        var all = new Option<bool>("--all") { Description = "Also show expired and lifted blocks" };
        var command = new Command("blocks", "Blocked source addresses") { json, all };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var text = await client.GetTextAsync($"api/v1/security/blocks?all={(parse.GetValue(all) ? "true" : "false")}", ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            var blocks = ApiClient.Parse<List<BlockListItem>>(text);
            if (blocks.Count == 0)
            {
                runner.Context.Console.Write(new Text("no blocks\n"));
                return 0;
            }

            var table = Table("ip", "rule", "since", "until", "count", "state", "reason");
            foreach (var b in blocks)
            {
                var state = b.Block.DryRun ? "dry-run" : b.InForce ? "blocked" : b.Block.Active ? "expired" : "lifted";
                table.AddRow(Cells(b.Block.Ip, b.Block.Rule, Format.Time(b.Block.Since), Format.Time(b.Block.Until), b.Block.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), state, b.Block.Reason));
            }

            runner.Context.Console.Write(table);
            return 0;
        }));
        return command;
    }

    private static Command Unblock(ClientRunner runner)
    {
        var ip = new Argument<string>("ip") { Description = "The blocked address" };
        ip.Validators.Add(r =>
        {
            if (!IPAddress.TryParse(r.GetValueOrDefault<string>(), out _))
            {
                r.AddError($"'{r.GetValueOrDefault<string>()}' is not an IP address");
            }
        });
        var command = new Command("unblock", "Lift the block of an address now") { ip };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var address = parse.GetValue(ip)!;
            await client.DeleteAsync($"api/v1/security/blocks/{Uri.EscapeDataString(address)}", ct);
            await runner.Context.Out.WriteLineAsync($"unblocked {address}");
            return 0;
        }));
        return command;
    }

    private static Command Rules(ClientRunner runner)
    {
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of a table" };
        var command = new Command("rules", "The signature rules in force") { json };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var text = await client.GetTextAsync("api/v1/security/rules", ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            var rules = ApiClient.Parse<List<SecurityRule>>(text);
            var table = Table("id", "kind", "class", "severity", "response", "condition");
            foreach (var r in rules)
            {
                var condition = r.Kind == "threshold"
                    ? $"{r.MaxRetry} × [{string.Join(", ", r.On)}] within {r.FindTime.TotalSeconds:0} s"
                    : $"{r.Field ?? string.Join(", ", r.On)}{(r.Status.Count > 0 ? " status " + string.Join('/', r.Status) : "")}{(r.Any.Count > 0 ? $" contains one of {r.Any.Count}" : "")}{(r.Pattern is null ? "" : " ~ " + r.Pattern)}";
                table.AddRow(Cells(r.Id, r.Kind, r.Class, r.Severity.ToString().ToLowerInvariant(), r.Response, condition));
            }

            runner.Context.Console.Write(table);
            return 0;
        }));
        return command;
    }

    /// <summary><c>autonomic audit</c>: what the agents did and why, filtered.</summary>
    public static Command Audit(ClientRunner runner)
    {
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of a table" };
        var limit = IncidentsCommand.Limit(100);
        var agent = new Option<string?>("--agent") { Description = "Only this agent's actions (e.g. security, healer)" };
        var kind = new Option<string?>("--kind") { Description = "Only this kind of action (e.g. block, restart)" };
        var since = new Option<string?>("--since") { Description = "Only actions since a time (ISO 8601) or a duration ago (30m, 2h, 1d)" };
        var command = new Command("audit", "The audit trail of agent actions, filtered") { json, limit, agent, kind, since };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var path = $"api/v1/audit?limit={parse.GetValue(limit)}";
            foreach (var (name, value) in new[] { ("agent", parse.GetValue(agent)), ("kind", parse.GetValue(kind)), ("since", parse.GetValue(since)) })
            {
                if (value is { Length: > 0 })
                {
                    path += $"&{name}={Uri.EscapeDataString(value)}";
                }
            }

            var text = await client.GetTextAsync(path, ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            ActionsCommand.Render(runner.Context, ApiClient.Parse<List<AgentAction>>(text));
            return 0;
        }));
        return command;
    }

    private static Table Table(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var c in columns)
        {
            table.AddColumn(c);
        }

        return table;
    }

    private static Text[] Cells(params string[] values) => [.. values.Select(v => new Text(v))];
}
