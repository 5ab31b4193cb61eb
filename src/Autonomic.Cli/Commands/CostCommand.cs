using System.CommandLine;
using System.Globalization;
using Autonomic.Core.Scaling;
using Spectre.Console;

namespace Autonomic.Cli.Commands;

/// <summary><c>autonomic cost [--json]</c>: the optimization agent's cost per service and its recommendations.</summary>
internal static class CostCommand
{
    public static Command Create(ClientRunner runner)
    {
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of tables" };
        var command = new Command("cost", "Show cost per service and right-sizing recommendations") { json };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var text = await client.GetTextAsync("api/v1/cost", ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            Render(runner.Context, ApiClient.Parse<CostReport>(text));
            return 0;
        }));
        return command;
    }

    internal static void Render(CliContext context, CostReport report)
    {
        static string Money(double v) => v.ToString(v < 1 ? "0.0000" : "0.00", CultureInfo.InvariantCulture);
        static string Cores(double? v) => v is { } c ? c.ToString("0.###", CultureInfo.InvariantCulture) : "-";
        static string Mi(long? v) => v is { } b ? $"{b / (1024 * 1024)}Mi" : "-";

        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in new[] { "service", "replicas", "req/s", "cpu p95", "cpu limit", "mem p95", "mem limit", $"{report.Currency}/h", $"{report.Currency} so far" })
        {
            table.AddColumn(column);
        }

        foreach (var s in report.Services)
        {
            table.AddRow(
                s.Service,
                s.Replicas.ToString(CultureInfo.InvariantCulture),
                s.RequestsPerSecond is { } r ? r.ToString("0.#", CultureInfo.InvariantCulture) : "-",
                Cores(s.CpuCoresP95),
                Cores(s.CpuLimit),
                Mi(s.RssBytesP95),
                Mi(s.MemoryLimitBytes),
                Money(s.PerHour),
                Money(s.SoFar));
        }

        table.AddRow("total", "", "", "", "", "", "", Money(report.TotalPerHour), Money(report.TotalSoFar));
        context.Console.Write(table);

        var recommendations = report.Services.SelectMany(s => s.Recommendations.Select(r => (s.Service, r))).ToList();
        if (recommendations.Count == 0)
        {
            context.Console.Write(new Text("no recommendations\n"));
            return;
        }

        var rec = new Table().Border(TableBorder.Rounded);
        foreach (var column in new[] { "service", "kind", "current", "suggested", $"saves {report.Currency}/h", "applied", "why" })
        {
            rec.AddColumn(column);
        }

        foreach (var (service, r) in recommendations)
        {
            rec.AddRow(new Text(service), new Text(r.Kind), new Text(r.Current), new Text(r.Suggested), new Text(Money(r.SavingsPerHour)), new Text(r.Applied ? "yes" : "no"), new Text(r.Detail));
        }

        context.Console.Write(rec);
    }
}
