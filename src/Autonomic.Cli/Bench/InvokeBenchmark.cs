using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Autonomic.Backends.Functions;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;

namespace Autonomic.Cli.Bench;

/// <summary>
/// One line of the invoke benchmark: a path (the invoker directly, or the HTTP API), a kind of function, warm or cold.
/// Overhead is the p50 of (wall time − the handler's own reported time) per invocation.
/// </summary>
public sealed record InvokeBenchRow(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("invocations")] int Invocations,
    [property: JsonPropertyName("succeeded")] int Succeeded,
    [property: JsonPropertyName("wall_ms_p50")] double? WallMsP50,
    [property: JsonPropertyName("wall_ms_p99")] double? WallMsP99,
    [property: JsonPropertyName("handler_ms_p50")] double? HandlerMsP50,
    [property: JsonPropertyName("overhead_ms_p50")] double? OverheadMsP50);

/// <summary>What to measure. <see cref="BaseUrl"/> adds the HTTP rows (a running control plane's API).</summary>
public sealed record InvokeBenchOptions
{
    public int WarmInvocations { get; init; } = 200;
    public int ColdInvocations { get; init; } = 10;
    public Uri? BaseUrl { get; init; }
    /// <summary>The API key sent with every request (an operator key or better), when the API asks for one.</summary>
    public string? ApiKey { get; init; }
    /// <summary><c>csharp</c> (Roslyn-compiled, function host) and/or <c>exec</c> (a Python line-protocol loop).</summary>
    public IReadOnlyList<string> Kinds { get; init; } = [FunctionKinds.CSharp, FunctionKinds.Exec];
}

/// <summary>
/// Invoke latency of trivial functions, warm (pool warmed, then N invocations) and cold (idle workers discarded
/// before each invocation, so each one starts a process: the process-per-call peer), through the invoker directly
/// and, given a base URL, through <c>POST /api/v1/functions/NAME/invoke</c> (cold over HTTP: a fresh version is
/// deployed before each invocation).
/// </summary>
public static class InvokeBenchmark
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    private const string CSharpNoop = "public static class Handler { public static JsonNode? Handle(JsonNode? evt) => evt; }";

    private const string PythonNoop = """
        #!/usr/bin/env python3
        import json, sys, time
        for line in sys.stdin:
            t = time.perf_counter()
            r = json.loads(line)
            out = {"id": r["id"], "response": r.get("event")}
            out["handlerMs"] = (time.perf_counter() - t) * 1000
            sys.stdout.write(json.dumps(out) + "\n")
            sys.stdout.flush()
        """;

    /// <summary>Runs against a private function service in a temporary directory (and the API at <see cref="InvokeBenchOptions.BaseUrl"/>).</summary>
    public static async Task<IReadOnlyList<InvokeBenchRow>> RunAsync(InvokeBenchOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var root = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "autonomic-bench-fn-" + Guid.NewGuid().ToString("N"));
        var service = new FunctionService(new Autonomic.Backends.Store.InMemoryDocumentStore(), new FunctionsOptions
        {
            Directory = System.IO.Path.Combine(root, "functions"),
            LogDirectory = System.IO.Path.Combine(root, "logs"),
            TempRoot = System.IO.Path.Combine(root, "tmp"),
        }, TimeProvider.System);
        try
        {
            var rows = new List<InvokeBenchRow>();
            rows.AddRange(await RunDirectAsync(service, options, cancellationToken));
            if (options.BaseUrl is { } url)
            {
                rows.AddRange(await RunHttpAsync(url, options, cancellationToken));
            }

            return rows;
        }
        finally
        {
            await service.DisposeAsync();
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
                // Leftovers in the system temp directory.
            }
        }
    }

    /// <summary>Measures through <paramref name="service"/> itself.</summary>
    public static async Task<IReadOnlyList<InvokeBenchRow>> RunDirectAsync(FunctionService service, InvokeBenchOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(options);
        var rows = new List<InvokeBenchRow>();
        var payload = JsonDocument.Parse("""{"n":1}""").RootElement.Clone();
        foreach (var kind in options.Kinds)
        {
            var name = $"bench-{kind}-{Guid.NewGuid().ToString("N")[..8]}";
            await service.DeployAsync(Deployment(name, kind), cancellationToken);

            // Warm: one cold call fills the pool, then N sequential calls reuse the worker.
            await service.InvokeAsync(name, null, payload, cancellationToken);
            var warm = new List<InvocationResult>();
            for (var i = 0; i < options.WarmInvocations; i++)
            {
                warm.Add(await service.InvokeAsync(name, null, payload, cancellationToken));
            }

            rows.Add(Row("direct", kind, "warm", warm.Select(r => (r.Status == InvocationStatus.Succeeded, r.DurationMs, r.HandlerMs)).ToList()));

            var cold = new List<InvocationResult>();
            for (var i = 0; i < options.ColdInvocations; i++)
            {
                await service.DrainIdleAsync(name);
                cold.Add(await service.InvokeAsync(name, null, payload, cancellationToken));
            }

            rows.Add(Row("direct", kind, "cold", cold.Select(r => (r.Status == InvocationStatus.Succeeded && r.Cold, r.DurationMs, r.HandlerMs)).ToList()));
            await service.DeleteAsync(name, cancellationToken);
        }

        return rows;
    }

    /// <summary>Measures through the API at <paramref name="baseUrl"/> (wall time as the HTTP client sees it).</summary>
    public static async Task<IReadOnlyList<InvokeBenchRow>> RunHttpAsync(Uri baseUrl, InvokeBenchOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(60) };
        if (options.ApiKey is { } key)
        {
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
        }

        var rows = new List<InvokeBenchRow>();
        foreach (var kind in options.Kinds)
        {
            var name = $"bench-{kind}-{Guid.NewGuid().ToString("N")[..8]}";
            await DeployHttpAsync(http, name, kind, cancellationToken);
            await InvokeHttpAsync(http, name, cancellationToken);
            var warm = new List<(bool, double, double?)>();
            for (var i = 0; i < options.WarmInvocations; i++)
            {
                warm.Add(await InvokeHttpAsync(http, name, cancellationToken));
            }

            rows.Add(Row("http", kind, "warm", warm));
            var cold = new List<(bool, double, double?)>();
            for (var i = 0; i < options.ColdInvocations; i++)
            {
                await DeployHttpAsync(http, name, kind, cancellationToken);
                cold.Add(await InvokeHttpAsync(http, name, cancellationToken));
            }

            rows.Add(Row("http", kind, "cold", cold));
            using var _ = await http.DeleteAsync($"api/v1/functions/{name}", cancellationToken);
        }

        return rows;
    }

    private static FunctionDeployment Deployment(string name, string kind) => kind == FunctionKinds.CSharp
        ? new FunctionDeployment { Name = name, Kind = kind, Source = CSharpNoop, MaxWorkers = 1 }
        : new FunctionDeployment { Name = name, Kind = kind, Source = PythonNoop, FileName = "noop.py", MaxWorkers = 1 };

    private static async Task DeployHttpAsync(HttpClient http, string name, string kind, CancellationToken ct)
    {
        var d = Deployment(name, kind);
        using var response = await http.PostAsJsonAsync("api/v1/functions", new { d.Name, d.Kind, d.Source, d.FileName, d.MaxWorkers }, JsonDefaults.Options, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"deploying {name} failed: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
        }
    }

    private static async Task<(bool Ok, double WallMs, double? HandlerMs)> InvokeHttpAsync(HttpClient http, string name, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        using var content = new StringContent("""{"n":1}""", Encoding.UTF8, "application/json");
        using var response = await http.PostAsync($"api/v1/functions/{name}/invoke", content, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        var wall = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (!response.IsSuccessStatusCode)
        {
            return (false, wall, null);
        }

        using var doc = JsonDocument.Parse(body);
        var ok = doc.RootElement.GetProperty("status").GetString() == "succeeded";
        double? handler = doc.RootElement.TryGetProperty("handlerMs", out var h) && h.ValueKind == JsonValueKind.Number ? h.GetDouble() : null;
        return (ok, wall, handler);
    }

    private static InvokeBenchRow Row(string path, string kind, string mode, IReadOnlyList<(bool Ok, double WallMs, double? HandlerMs)> samples)
    {
        var ok = samples.Where(s => s.Ok).ToList();
        var overhead = ok.Where(s => s.HandlerMs is not null).Select(s => s.WallMs - s.HandlerMs!.Value).ToList();
        return new InvokeBenchRow(
            path,
            kind,
            mode,
            samples.Count,
            ok.Count,
            Round(Percentile.NearestRank(ok.Select(s => s.WallMs), 50)),
            Round(Percentile.NearestRank(ok.Select(s => s.WallMs), 99)),
            Round(Percentile.NearestRank(ok.Where(s => s.HandlerMs is not null).Select(s => s.HandlerMs!.Value), 50)),
            Round(Percentile.NearestRank(overhead, 50)));
    }

    private static double? Round(double? v) => v is { } x ? Math.Round(x, 3) : null;

    public static string ToJson(IReadOnlyList<InvokeBenchRow> rows) => JsonSerializer.Serialize(new { rows }, JsonOptions);

    public static string ToMarkdown(IReadOnlyList<InvokeBenchRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var sb = new StringBuilder();
        sb.AppendLine("| path | kind | mode | ok/n | wall p50 (ms) | wall p99 (ms) | handler p50 (ms) | overhead p50 (ms) |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|");
        foreach (var r in rows)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Path} | {r.Kind} | {r.Mode} | {r.Succeeded}/{r.Invocations} | {Num(r.WallMsP50)} | {Num(r.WallMsP99)} | {Num(r.HandlerMsP50)} | {Num(r.OverheadMsP50)} |");
        }

        return sb.ToString();
    }

    private static string Num(double? v) => v is { } x ? x.ToString("0.###", CultureInfo.InvariantCulture) : "-";
}
