using System.CommandLine;
using Autonomic.Core.Model;
using Autonomic.Gateway;
using Spectre.Console;

namespace Autonomic.Cli.Commands;

/// <summary><c>autonomic status [--json]</c>: every instance of every service with its state.</summary>
internal static class StatusCommand
{
    public static Command Create(ClientRunner runner)
    {
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of a table" };
        var command = new Command("status", "Show services and their instances") { json };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var text = await client.GetTextAsync("api/v1/status", ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            Render(runner.Context, ApiClient.Parse<StatusView>(text));
            await RenderScalingAsync(runner.Context, client, ct);
            return 0;
        }));
        return command;
    }

    private static void Render(CliContext context, StatusView status)
    {
        var now = context.Time.GetUtcNow();
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in new[] { "service", "instance", "state", "pid", "port", "restarts", "uptime", "reason" })
        {
            table.AddColumn(column);
        }

        foreach (var service in status.Services)
        {
            if (service.Instances.Count == 0)
            {
                table.AddRow(new Text(service.Name), new Text("-"), new Text("none"), new Text("-"), new Text("-"), new Text("-"), new Text("-"), new Text($"{service.Replicas} wanted"));
            }

            foreach (var i in service.Instances)
            {
                var uptime = InstanceStates.IsAlive(i.State) && i.StartedAt is { } started ? Format.Duration(now - started) : "-";
                table.AddRow(
                    new Text(service.Name),
                    new Text(i.Id),
                    new Text(Snake(i.State), new Style(StateColour(i.State))),
                    new Text(i.Pid?.ToString() ?? "-"),
                    new Text(i.Port?.ToString() ?? "-"),
                    new Text(i.Restarts.ToString()),
                    new Text(uptime),
                    new Text(Format.Or(i.Reason)));
            }
        }

        context.Console.Write(table);
        var ready = status.Services.Sum(s => s.Ready);
        var wanted = status.Services.Sum(s => s.Replicas);
        context.Console.Write(new Text($"{status.Services.Count} services, {ready}/{wanted} instances ready, {status.IncidentsOpen} open incidents\n"));
    }

    /// <summary>The last scaling decision per service, with its reason; nothing when no service scales (or the API has no scaler).</summary>
    private static async Task RenderScalingAsync(CliContext context, ApiClient client, CancellationToken ct)
    {
        List<ScalingView>? decisions;
        try
        {
            decisions = ApiClient.Parse<List<ScalingView>>(await client.GetTextAsync("api/v1/scaling", ct));
        }
        catch (Exception e) when (e is ApiProblemException or System.Text.Json.JsonException)
        {
            return;
        }

        if (decisions.Count == 0)
        {
            return;
        }

        var table = new Table().Border(TableBorder.Rounded).Title("last scaling decisions");
        foreach (var column in new[] { "service", "replicas", "policy", "load", "when", "reason" })
        {
            table.AddColumn(column);
        }

        var now = context.Time.GetUtcNow();
        foreach (var d in decisions.OrderBy(d => d.Service, StringComparer.Ordinal))
        {
            var load = d.Inputs?.GetValueOrDefault("requests_per_second") ?? d.Inputs?.GetValueOrDefault("rps") ?? "-";
            table.AddRow(new Text(d.Service), new Text($"{d.From} -> {d.To}"), new Text(d.Policy), new Text(load),
                new Text(Format.Duration(now - d.At) + " ago"), new Text(d.Reason));
        }

        context.Console.Write(table);
    }

    private sealed record ScalingView(string Service, int From, int To, string Policy, string Reason, DateTimeOffset At, Dictionary<string, string>? Inputs);

    internal static string Snake(InstanceState state) => state.ToString().ToLowerInvariant();

    private static Color StateColour(InstanceState state) => state switch
    {
        InstanceState.Ready => Color.Green,
        InstanceState.Pending or InstanceState.Starting or InstanceState.Running => Color.Yellow,
        InstanceState.Unready or InstanceState.Exited or InstanceState.Backoff => Color.Orange1,
        InstanceState.Fatal => Color.Red,
        _ => Color.Grey,
    };
}
