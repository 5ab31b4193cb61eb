using System.CommandLine;
using System.Net;
using Autonomic.Agents.Security.Rules;
using Autonomic.Core.Model;
using Autonomic.Core.Security;
using Spectre.Console;

namespace Autonomic.Cli.Commands;

/// <summary>A block as the API lists it.</summary>
internal sealed record BlockListItem(BlockRecord Block, bool InForce);

/// <summary>A rate limit or quarantine as the API lists it.</summary>
internal sealed record ResponseListItem(ResponseRecord Response, bool InForce);

/// <summary>
/// <c>autonomic security alerts|blocks|block IP|unblock IP|limits|unlimit IP|quarantines|quarantine INSTANCE|release INSTANCE|rules</c>
/// and <c>autonomic audit [--agent A] [--kind K] [--since T]</c>.
/// </summary>
internal static class SecurityCommand
{
    public static Command Create(ClientRunner runner)
    {
        var command = new Command("security", "Security alerts, responses (blocks, rate limits, quarantines) and rules");
        command.Subcommands.Add(Alerts(runner));
        command.Subcommands.Add(Blocks(runner));
        command.Subcommands.Add(Block(runner));
        command.Subcommands.Add(Lift(runner, "unblock", "blocks", "Lift the block of an address now", "ip", "The blocked address", "unblocked"));
        command.Subcommands.Add(Responses(runner, "limits", "rate-limits", "Rate-limited clients", "no rate limits"));
        command.Subcommands.Add(Lift(runner, "unlimit", "rate-limits", "Lift the rate limit of an address now", "ip", "The rate-limited address", "unlimited"));
        command.Subcommands.Add(Responses(runner, "quarantines", "quarantines", "Quarantined instances (out of the load balancer, still running)", "no quarantines"));
        command.Subcommands.Add(Quarantine(runner));
        command.Subcommands.Add(Lift(runner, "release", "quarantines", "Release an instance from quarantine now", "instance", "The quarantined instance", "released"));
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

    private static Command Blocks(ClientRunner runner) =>
        Listing<BlockListItem>(runner, "blocks", "blocks", "Blocked source addresses", "no blocks",
            ["ip", "rule", "since", "until", "count", "state", "reason"],
            b =>
            {
                var state = b.Block.DryRun ? "dry-run" : b.InForce ? "blocked" : b.Block.Active ? "expired" : "lifted";
                return [b.Block.Ip, b.Block.Rule, Format.Time(b.Block.Since), Format.Time(b.Block.Until), b.Block.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), state, b.Block.Reason];
            });

    /// <summary>The list of rate limits or quarantines.</summary>
    private static Command Responses(ClientRunner runner, string name, string resource, string description, string none) =>
        Listing<ResponseListItem>(runner, name, resource, description, none,
            ["target", "rule", "limit", "since", "until", "state", "by", "reason"],
            item =>
            {
                var r = item.Response;
                var state = r.DryRun ? "dry-run" : item.InForce ? "in force" : r.Active ? "expired" : "lifted";
                var limit = r.RequestsPerSecond is { } rps ? rps.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture) + "/s" : "-";
                return [r.Target, r.Rule, limit, Format.Time(r.Since), Format.Time(r.Until), state, r.By, r.Reason];
            });

    /// <summary>A list of one kind of response (<c>GET /api/v1/security/{resource}</c>) as a table, or its JSON.</summary>
    private static Command Listing<T>(ClientRunner runner, string name, string resource, string description, string none, string[] headers, Func<T, string[]> row)
    {
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of a table" };
        var all = new Option<bool>("--all") { Description = "Also show expired and lifted ones" };
        var command = new Command(name, description) { json, all };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var text = await client.GetTextAsync($"api/v1/security/{resource}?all={(parse.GetValue(all) ? "true" : "false")}", ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            var items = ApiClient.Parse<List<T>>(text);
            if (items.Count == 0)
            {
                runner.Context.Console.Write(new Text(none + "\n"));
                return 0;
            }

            var table = Table(headers);
            foreach (var item in items)
            {
                table.AddRow(Cells(row(item)));
            }

            runner.Context.Console.Write(table);
            return 0;
        }));
        return command;
    }

    /// <summary>Lifts one rate limit or quarantine.</summary>
    private static Command Lift(ClientRunner runner, string name, string resource, string description, string argument, string argumentDescription, string done)
    {
        var target = new Argument<string>(argument) { Description = argumentDescription };
        if (argument == "ip")
        {
            target.Validators.Add(IsAddress);
        }

        var command = new Command(name, description) { target };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var value = parse.GetValue(target)!;
            await client.DeleteAsync($"api/v1/security/{resource}/{Uri.EscapeDataString(value)}", ct);
            await runner.Context.Out.WriteLineAsync($"{done} {value}");
            return 0;
        }));
        return command;
    }

    private static Command Quarantine(ClientRunner runner) =>
        ByHand(runner, "quarantine", "Quarantine an instance: no more traffic, kept running for forensics", "instance",
            "The instance to take out of the load balancer (it keeps running)", "quarantines",
            (target, duration, reason) => new { instance = target, @for = duration, reason },
            text =>
            {
                var r = ApiClient.Parse<ResponseRecord>(text);
                return $"quarantined {r.Target} until {Format.Time(r.Until)}";
            });

    private static Command Block(ClientRunner runner) =>
        ByHand(runner, "block", "Block an address at the gateway and every load balancer (admin)", "ip", "The address to block", "blocks",
            (target, duration, reason) => new { ip = target, @for = duration, reason },
            text =>
            {
                var b = ApiClient.Parse<BlockRecord>(text);
                return $"blocked {b.Ip} until {Format.Time(b.Until)}";
            });

    /// <summary>A response taken by hand: <c>POST /api/v1/security/{resource}</c> with the target, <c>--for</c> and <c>--reason</c>.</summary>
    private static Command ByHand(
        ClientRunner runner, string name, string description, string argument, string argumentDescription, string resource,
        Func<string, string?, string?, object> body, Func<string, string> done)
    {
        var target = new Argument<string>(argument) { Description = argumentDescription };
        if (argument == "ip")
        {
            target.Validators.Add(IsAddress);
        }

        var duration = new Option<string>("--for") { Description = "How long, e.g. 30m, 2h (default 1h)" };
        var reason = new Option<string>("--reason") { Description = "Why, for the audit trail" };
        var command = new Command(name, description) { target, duration, reason };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var text = await client.PostJsonAsync($"api/v1/security/{resource}", body(parse.GetValue(target)!, parse.GetValue(duration), parse.GetValue(reason)), ct);
            await runner.Context.Out.WriteLineAsync(done(text));
            return 0;
        }));
        return command;
    }

    private static void IsAddress(System.CommandLine.Parsing.ArgumentResult r)
    {
        if (!IPAddress.TryParse(r.GetValueOrDefault<string>(), out _))
        {
            r.AddError($"'{r.GetValueOrDefault<string>()}' is not an IP address");
        }
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
