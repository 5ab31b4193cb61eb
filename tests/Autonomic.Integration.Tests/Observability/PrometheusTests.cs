using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Integration.Tests.ControlPlane;

namespace Autonomic.Integration.Tests.Observability;

/// <summary>
/// Autonomic in the Prometheus stack, with the real tools: promtool lints the exposition and the shipped rules,
/// amtool the Alertmanager config, a real Prometheus scrapes a control plane and a real Alertmanager delivers a
/// firing rule to the healer through the webhook.
/// </summary>
[Collection("control-plane")]
public sealed partial class PrometheusTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(60);
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(10) };

    private static string Web(int port, int replicas) => $"""
          web:
            command: {ControlPlaneHarness.Workload}
            port: {port}
            replicas: {replicas}
            health:
              readiness: {"{"}http: /readyz, period: 200ms, timeout: 150ms{"}"}
            restart: {"{"}backoff_initial: 100ms, reset_after: 1s{"}"}
        """;

    [Fact]
    public async Task Exposition_passes_promtool_check_metrics_after_an_incident()
    {
        await using var h = new ControlPlaneHarness();
        await h.StartAsync(h.Fleet(Web(TestPorts.FreeRun(1), 1)));
        await h.WaitAllReadyAsync(Deadline);
        var pid = h.Instance("web-0").Record.Pid!.Value;
        await h.Chaos.InjectAsync(Faults.Kill, "web/0");
        await h.WaitReadyAsync("web-0", Deadline, notPid: pid);
        // The incident's metrics (counter and both histograms) are fed from the bus: wait for them.
        var text = await Eventually.WaitAsync(async () =>
        {
            var body = await Http.GetStringAsync($"http://127.0.0.1:{h.ApiPort}/metrics");
            return body.Contains("autonomic_time_to_mitigate_seconds_count{service=\"web\",cause=\"crash\"} 1", StringComparison.Ordinal) ? body : null;
        }, Deadline, "the mitigated incident in the metrics");

        var (code, output) = await Tools.RunAsync("promtool", ["check", "metrics"], stdin: text);

        Assert.True(code == 0, $"promtool check metrics failed ({code}):\n{output}");
        Assert.Contains("autonomic_incidents_opened_total{service=\"web\",cause=\"crash\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("autonomic_time_to_detect_seconds_count{service=\"web\",cause=\"crash\"} 1", text, StringComparison.Ordinal);
        Assert.Matches(@"autonomic_instance_memory_bytes\{service=""web"",instance_id=""web-0""\} [1-9]", text);
    }

    [Fact]
    public async Task Shipped_prometheus_config_rules_and_alertmanager_config_are_valid()
    {
        var prom = Path.Combine(Tools.RepoRoot, "deploy/prometheus/prometheus.yml");
        var rules = Path.Combine(Tools.RepoRoot, "deploy/prometheus/rules/autonomic.rules.yml");
        var am = Path.Combine(Tools.RepoRoot, "deploy/alertmanager/alertmanager.yml");

        var config = await Tools.RunAsync("promtool", ["check", "config", prom]);
        var ruleCheck = await Tools.RunAsync("promtool", ["check", "rules", rules]);
        var amCheck = await Tools.RunAsync("amtool", ["check-config", am]);

        Assert.True(config.Code == 0, config.Output);
        Assert.True(ruleCheck.Code == 0, ruleCheck.Output);
        Assert.True(amCheck.Code == 0, amCheck.Output);
        // A rule naming a metric Autonomic does not export would never fire: the same check as for the dashboards.
        var exprs = (await File.ReadAllLinesAsync(rules)).Select(l => l.Trim()).Where(l => l.StartsWith("expr:", StringComparison.Ordinal)).ToList();
        Assert.NotEmpty(exprs);
        var exported = await ExportedFamiliesAsync();
        Assert.Empty(exprs.SelectMany(e => UnknownMetrics(e, exported)));
    }

    [Fact]
    public async Task Grafana_dashboards_query_only_metrics_autonomic_exports()
    {
        var exported = await ExportedFamiliesAsync();
        var files = Directory.GetFiles(Path.Combine(Tools.RepoRoot, "deploy/grafana/dashboards"), "*.json");
        Assert.True(files.Length >= 6, "fleet, incidents, scaling, traffic, security and tasks dashboards");

        var exprs = new List<string>();
        foreach (var file in files)
        {
            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(file));
            Assert.False(string.IsNullOrEmpty(doc.RootElement.GetProperty("uid").GetString()), file);
            foreach (var panel in doc.RootElement.GetProperty("panels").EnumerateArray())
            {
                exprs.AddRange(panel.GetProperty("targets").EnumerateArray().Select(t => t.GetProperty("expr").GetString()!));
            }
        }

        Assert.NotEmpty(exprs);
        Assert.Empty(exprs.SelectMany(e => UnknownMetrics(e, exported).Select(m => $"{m} in '{e}'")));
    }

    [Fact]
    public async Task A_real_prometheus_scrapes_autonomic_and_a_firing_rule_reaches_the_healer_through_alertmanager()
    {
        await using var h = new ControlPlaneHarness();
        var webPort = TestPorts.FreeRun(2);
        await h.StartAsync(h.Fleet(Web(webPort, 2)));
        await h.WaitAllReadyAsync(Deadline);
        var promPort = TestPorts.Free();
        var amPort = TestPorts.Free();
        var dir = Directory.CreateTempSubdirectory("autonomic-prom-").FullName;
        await File.WriteAllTextAsync(Path.Combine(dir, "rules.yml"), """
            groups:
              - name: test
                rules:
                  - alert: InstanceUnready
                    expr: autonomic_instance_ready{service="web"} == 0
                    for: 1s
                    labels:
                      autonomic_action: replace
                    annotations:
                      summary: "{{ $labels.instance_id }} is not ready"
            """);
        await File.WriteAllTextAsync(Path.Combine(dir, "prometheus.yml"), $"""
            global: {"{"}scrape_interval: 1s, evaluation_interval: 1s{"}"}
            rule_files: [rules.yml]
            alerting:
              alertmanagers: [{"{"}static_configs: [{"{"}targets: ['127.0.0.1:{amPort}']{"}"}]{"}"}]
            scrape_configs:
              - job_name: autonomic
                static_configs: [{"{"}targets: ['127.0.0.1:{h.ApiPort}']{"}"}]
            """);
        await File.WriteAllTextAsync(Path.Combine(dir, "alertmanager.yml"), $"""
            route: {"{"}receiver: autonomic, group_wait: 0s, group_interval: 1s, repeat_interval: 1h{"}"}
            receivers:
              - name: autonomic
                webhook_configs:
                  - url: 'http://127.0.0.1:{h.ApiPort}/api/v1/alerts/alertmanager'
                    send_resolved: true
                    http_config: {"{"}authorization: {"{"}type: Bearer, credentials: '{h.AdminKey}'{"}"}{"}"}
            """);
        using var prometheus = Tools.Start("prometheus", [$"--config.file={dir}/prometheus.yml", $"--storage.tsdb.path={dir}/data", $"--web.listen-address=127.0.0.1:{promPort}"], Path.Combine(dir, "prometheus.log"));
        using var alertmanager = Tools.Start("prometheus-alertmanager", [$"--config.file={dir}/alertmanager.yml", $"--storage.path={dir}/am", $"--web.listen-address=127.0.0.1:{amPort}", "--cluster.listen-address="], Path.Combine(dir, "alertmanager.log"));
        try
        {
            // Prometheus's query API returns Autonomic's series once it has scraped.
            await Eventually.WaitAsync(async () =>
            {
                try
                {
                    using var doc = JsonDocument.Parse(await Http.GetStringAsync($"http://127.0.0.1:{promPort}/api/v1/query?query=autonomic_instance_ready"));
                    return doc.RootElement.GetProperty("data").GetProperty("result").GetArrayLength() == 2;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, Deadline, "both instances' readiness in Prometheus");

            var before = h.Instance("web-0").Record.Pid!.Value;
            using (var unready = await Http.PostAsync($"http://127.0.0.1:{webPort}/fault/unready", null))
            {
                unready.EnsureSuccessStatusCode();
            }

            // Prometheus fires, Alertmanager notifies, the healer opens an incident and replaces web-0.
            var incident = await Eventually.WaitAsync(async () =>
                (await h.Store.ListIncidentsAsync(10)).FirstOrDefault(i => i.InstanceId == "web-0" && i.Cause == "alert"), Deadline, "an alert incident for web-0");
            Assert.Equal("InstanceUnready", incident.Evidence["alertname"]);
            Assert.Contains("autonomic_action=replace", incident.Evidence["alert_labels"], StringComparison.Ordinal);
            await h.WaitReadyAsync("web-0", Deadline, notPid: before);
            Assert.Contains(await h.Store.ListActionsAsync(50, incident.Id), a => a.Kind == "replace" && a.Rule == "lifecycle.degraded.alert.replace");
            // The sibling was left alone.
            Assert.Equal(0, h.Instance("web-1").Record.Restarts);
        }
        finally
        {
            Stop(prometheus);
            Stop(alertmanager);
            Directory.Delete(dir, recursive: true);
        }
    }

    private static void Stop(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit(10_000);
        }
        catch (InvalidOperationException)
        {
        }
    }

    /// <summary>Metric families a control plane exports, read from a real one's /metrics after an incident-free start.</summary>
    private static async Task<HashSet<string>> ExportedFamiliesAsync()
    {
        await using var h = new ControlPlaneHarness();
        await h.StartAsync(h.Fleet(Web(TestPorts.FreeRun(1), 1)));
        await h.WaitAllReadyAsync(Deadline);
        var text = await Http.GetStringAsync($"http://127.0.0.1:{h.ApiPort}/metrics");
        return [.. text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2])];
    }

    /// <summary>Names in a PromQL expression that look like Autonomic metrics but are not exported (histogram suffixes allowed).</summary>
    private static List<string> UnknownMetrics(string expr, HashSet<string> exported) =>
        [.. MetricName().Matches(expr).Select(m => m.Value).Distinct()
            .Where(name => !exported.Contains(name) && !exported.Contains(HistogramSuffix().Replace(name, "")))];

    [GeneratedRegex(@"\bautonomic_[a-z0-9_]+")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"_(bucket|sum|count)$")]
    private static partial Regex HistogramSuffix();
}
