using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Autonomic.Cli.Bench;

/// <summary>
/// One line of the recovery benchmark: a supervisor facing one kind of fault. Serialises to the JSON shape
/// promised by <c>autonomic bench recovery --json</c>.
/// </summary>
public sealed record BenchRow(
    [property: JsonPropertyName("system")] string System,
    [property: JsonPropertyName("fault")] string Fault,
    [property: JsonPropertyName("trials")] int Trials,
    [property: JsonPropertyName("recovered")] int Recovered,
    [property: JsonPropertyName("downtime_ms_p50")] double? DowntimeMsP50,
    [property: JsonPropertyName("downtime_ms_p99")] double? DowntimeMsP99,
    [property: JsonPropertyName("cold_start_ms")] double? ColdStartMs,
    [property: JsonPropertyName("note")]
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Note = null)
{
    /// <summary>Builds a row from per-trial downtimes (null = not recovered), with nearest-rank percentiles.</summary>
    public static BenchRow FromTrials(
        string system, string fault, IReadOnlyList<double?> downtimes, double? coldStartMs, string? note = null)
    {
        ArgumentNullException.ThrowIfNull(downtimes);
        var recovered = downtimes.Where(d => d.HasValue).Select(d => d!.Value).ToList();
        return new BenchRow(
            system,
            fault,
            downtimes.Count,
            recovered.Count,
            Round(Percentile.NearestRank(recovered, 50)),
            Round(Percentile.NearestRank(recovered, 99)),
            Round(coldStartMs),
            note);
    }

    private static double? Round(double? v) => v is { } x ? Math.Round(x, 1) : null;
}

/// <summary>Renders benchmark rows as the Markdown table and the JSON document the CLI prints and writes.</summary>
public static class BenchReport
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>The JSON document <c>{"rows": [...]}</c>.</summary>
    public static string ToJson(IReadOnlyList<BenchRow> rows) =>
        JsonSerializer.Serialize(new BenchDocument(rows), JsonOptions);

    /// <summary>Parses a document written by <see cref="ToJson"/>.</summary>
    public static IReadOnlyList<BenchRow> FromJson(string json) =>
        JsonSerializer.Deserialize<BenchDocument>(json, JsonOptions)?.Rows ?? [];

    /// <summary>
    /// A Markdown table, one row per system and fault; rows carrying a note get a numbered footnote so that
    /// capped or partial measurements are visible next to the figures they qualify.
    /// </summary>
    public static string ToMarkdown(IReadOnlyList<BenchRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var sb = new StringBuilder();
        sb.AppendLine("| system | fault | trials | recovered | downtime p50 ms | downtime p99 ms | cold start ms |");
        sb.AppendLine("|---|---|---:|---:|---:|---:|---:|");
        var notes = new List<string>();
        foreach (var r in rows)
        {
            var trials = r.Trials.ToString(CultureInfo.InvariantCulture);
            if (r.Note is { } note)
            {
                var index = notes.IndexOf(note);
                if (index < 0)
                {
                    notes.Add(note);
                    index = notes.Count - 1;
                }

                trials += $" [{index + 1}]";
            }

            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.System} | {r.Fault} | {trials} | {r.Recovered} | {Num(r.DowntimeMsP50)} | {Num(r.DowntimeMsP99)} | {Num(r.ColdStartMs)} |");
        }

        if (notes.Count > 0)
        {
            sb.AppendLine();
            for (var i = 0; i < notes.Count; i++)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"[{i + 1}] {notes[i]}");
            }
        }

        return sb.ToString();
    }

    private static string Num(double? v) =>
        v is { } x ? x.ToString("0.#", CultureInfo.InvariantCulture) : "-";

    private sealed record BenchDocument([property: JsonPropertyName("rows")] IReadOnlyList<BenchRow> Rows);
}
