using System.Text.Json;
using Autonomic.Cli.Bench;

namespace Autonomic.Integration.Tests.Bench;

public class BenchReportTests
{
    private static readonly BenchRow[] Rows =
    [
        BenchRow.FromTrials("autonomic", "crash", [120.04, 80, 100], 150.26),
        BenchRow.FromTrials("runit", "hang", [null, null, null], 150.26, "runit cannot detect a hang"),
        BenchRow.FromTrials("s6", "hang", [null, 2000], 150.26, "s6 cannot detect a hang"),
    ];

    [Fact]
    public void Row_counts_trials_and_recoveries_and_takes_percentiles_over_recovered_only()
    {
        Assert.Equal(new BenchRow("autonomic", "crash", 3, 3, 100, 120, 150.3), Rows[0]);
        Assert.Equal((3, 0, (double?)null, (double?)null), (Rows[1].Trials, Rows[1].Recovered, Rows[1].DowntimeMsP50, Rows[1].DowntimeMsP99));
        Assert.Equal((2, 1, (double?)2000, (double?)2000), (Rows[2].Trials, Rows[2].Recovered, Rows[2].DowntimeMsP50, Rows[2].DowntimeMsP99));
    }

    [Fact]
    public void Json_has_the_documented_keys_and_nulls()
    {
        using var doc = JsonDocument.Parse(BenchReport.ToJson(Rows));
        var rows = doc.RootElement.GetProperty("rows");
        Assert.Equal(3, rows.GetArrayLength());
        var first = rows[0];
        Assert.Equal("autonomic", first.GetProperty("system").GetString());
        Assert.Equal("crash", first.GetProperty("fault").GetString());
        Assert.Equal(3, first.GetProperty("trials").GetInt32());
        Assert.Equal(3, first.GetProperty("recovered").GetInt32());
        Assert.Equal(100, first.GetProperty("downtime_ms_p50").GetDouble());
        Assert.Equal(120, first.GetProperty("downtime_ms_p99").GetDouble());
        Assert.Equal(150.3, first.GetProperty("cold_start_ms").GetDouble());
        Assert.False(first.TryGetProperty("note", out _));
        Assert.Equal(JsonValueKind.Null, rows[1].GetProperty("downtime_ms_p50").ValueKind);
        Assert.Equal(JsonValueKind.Null, rows[1].GetProperty("downtime_ms_p99").ValueKind);
        Assert.Equal("runit cannot detect a hang", rows[1].GetProperty("note").GetString());
        Assert.Equal(Rows, BenchReport.FromJson(BenchReport.ToJson(Rows)));
    }

    [Fact]
    public void Markdown_table_has_header_one_line_per_row_and_footnotes_for_notes()
    {
        var lines = BenchReport.ToMarkdown(Rows).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("| system | fault | trials | recovered | downtime p50 ms | downtime p99 ms | cold start ms |", lines[0]);
        Assert.StartsWith("|---|", lines[1], StringComparison.Ordinal);
        Assert.Equal("| autonomic | crash | 3 | 3 | 100 | 120 | 150.3 |", lines[2]);
        Assert.Equal("| runit | hang | 3 [1] | 0 | - | - | 150.3 |", lines[3]);
        Assert.Equal("| s6 | hang | 2 [2] | 1 | 2000 | 2000 | 150.3 |", lines[4]);
        Assert.Equal("[1] runit cannot detect a hang", lines[5]);
        Assert.Equal("[2] s6 cannot detect a hang", lines[6]);
    }
}
