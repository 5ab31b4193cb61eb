using System.CommandLine;
using Autonomic.Core.Model;
using Spectre.Console;

namespace Autonomic.Cli.Commands;

/// <summary>An incident as the API shows it: the record plus times in milliseconds and, for one incident, its actions.</summary>
internal sealed record IncidentView
{
    public string Id { get; init; } = "";
    public string Service { get; init; } = "";
    public string? InstanceId { get; init; }
    public string Cause { get; init; } = "";
    public IncidentStatus Status { get; init; }
    public string? Summary { get; init; }
    public DateTimeOffset FailedAt { get; init; }
    public DateTimeOffset DetectedAt { get; init; }
    public DateTimeOffset? MitigatedAt { get; init; }
    public DateTimeOffset? ResolvedAt { get; init; }
    public bool NeedsHuman { get; init; }
    public IReadOnlyDictionary<string, string> Evidence { get; init; } = new Dictionary<string, string>();
    public long TimeToDetectMs { get; init; }
    public long? TimeToMitigateMs { get; init; }
    public IReadOnlyList<AgentAction> Actions { get; init; } = [];
}

/// <summary><c>autonomic incidents [--limit N] [--json]</c> and <c>autonomic incidents show ID [--json]</c>.</summary>
internal static class IncidentsCommand
{
    public static Command Create(ClientRunner runner)
    {
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of a table" };
        var limit = Limit(50);
        var command = new Command("incidents", "List incidents, newest first") { json, limit };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var text = await client.GetTextAsync($"api/v1/incidents?limit={parse.GetValue(limit)}", ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            RenderList(runner.Context, ApiClient.Parse<List<IncidentView>>(text));
            return 0;
        }));

        var id = new Argument<string>("id") { Description = "The incident id" };
        var showJson = new Option<bool>("--json") { Description = "Print the API's JSON instead of tables" };
        var show = new Command("show", "Show one incident with its evidence and actions") { id, showJson };
        show.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var text = await client.GetTextAsync($"api/v1/incidents/{Uri.EscapeDataString(parse.GetValue(id)!)}", ct);
            if (parse.GetValue(showJson))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            RenderOne(runner.Context, ApiClient.Parse<IncidentView>(text));
            return 0;
        }));
        command.Subcommands.Add(show);
        return command;
    }

    internal static Option<int> Limit(int fallback)
    {
        var limit = new Option<int>("--limit") { Description = "How many to show (1-1000)", DefaultValueFactory = _ => fallback };
        limit.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 1000)
            {
                r.AddError("--limit must be from 1 to 1000");
            }
        });
        return limit;
    }

    private static void RenderList(CliContext context, IReadOnlyList<IncidentView> incidents)
    {
        if (incidents.Count == 0)
        {
            context.Console.Write(new Text("no incidents\n"));
            return;
        }

        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in new[] { "id", "service/instance", "cause", "status", "detected at", "TTD ms", "TTM ms", "needs human", "summary" })
        {
            table.AddColumn(column);
        }

        foreach (var i in incidents)
        {
            table.AddRow(
                new Text(i.Id),
                new Text(i.InstanceId is null ? i.Service : $"{i.Service}/{i.InstanceId}"),
                new Text(i.Cause),
                new Text(Status(i.Status), new Style(StatusColour(i.Status))),
                new Text(Format.Time(i.DetectedAt)),
                new Text(Format.Ms(i.TimeToDetectMs)),
                new Text(Format.Ms(i.TimeToMitigateMs)),
                new Text(i.NeedsHuman ? "yes" : "no", new Style(i.NeedsHuman ? Color.Red : Color.Default)),
                new Text(Format.Or(i.Summary)));
        }

        context.Console.Write(table);
    }

    private static void RenderOne(CliContext context, IncidentView i)
    {
        var facts = new Grid().AddColumn().AddColumn();
        void Fact(string name, string value) => facts.AddRow(new Text(name, new Style(decoration: Decoration.Bold)), new Text(value));
        Fact("incident", i.Id);
        Fact("service", i.Service);
        Fact("instance", Format.Or(i.InstanceId));
        Fact("cause", i.Cause);
        Fact("status", Status(i.Status));
        Fact("needs human", i.NeedsHuman ? "yes" : "no");
        Fact("failed at", Format.Time(i.FailedAt));
        Fact("detected at", $"{Format.Time(i.DetectedAt)} (TTD {Format.Ms(i.TimeToDetectMs)} ms)");
        Fact("mitigated at", i.MitigatedAt is null ? "-" : $"{Format.Time(i.MitigatedAt)} (TTM {Format.Ms(i.TimeToMitigateMs)} ms)");
        Fact("resolved at", Format.Time(i.ResolvedAt));
        Fact("summary", Format.Or(i.Summary));
        context.Console.Write(facts);

        context.Console.Write(new Rule("evidence") { Justification = Justify.Left });
        if (i.Evidence.Count == 0)
        {
            context.Console.Write(new Text("none\n"));
        }
        else
        {
            var evidence = new Table().Border(TableBorder.Rounded).AddColumn("key").AddColumn("value");
            foreach (var (key, value) in i.Evidence.OrderBy(e => e.Key, StringComparer.Ordinal))
            {
                evidence.AddRow(new Text(key), new Text(value));
            }

            context.Console.Write(evidence);
        }

        context.Console.Write(new Rule("actions") { Justification = Justify.Left });
        // The API lists newest first; a story reads better oldest first.
        ActionsCommand.Render(context, i.Actions.OrderBy(a => a.CreatedAt).ToList());
    }

    private static string Status(IncidentStatus s) => s.ToString().ToLowerInvariant();

    private static Color StatusColour(IncidentStatus s) => s switch
    {
        IncidentStatus.Open => Color.Orange1,
        IncidentStatus.Mitigated => Color.Yellow,
        IncidentStatus.Resolved => Color.Green,
        _ => Color.Red,
    };
}
