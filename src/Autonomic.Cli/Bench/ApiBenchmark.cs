using System.Net.Http.Json;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Autonomic.Core.Abstractions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Autonomic.Cli.Bench;

/// <summary>
/// One row of <c>bench api</c>. For <c>read*</c> cases: closed-loop throughput and latency of one GET endpoint, with
/// the same numbers for a bare Kestrel peer answering the same bytes on the same path. For <c>invoke_*</c> cases:
/// sequential invocations over HTTP (requests_per_s is 1000 / latency p50), with the handler's own time and overhead.
/// </summary>
public sealed record ApiBenchRow(
    [property: JsonPropertyName("case")] string Case,
    [property: JsonPropertyName("endpoint")] string Endpoint,
    [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("errors")] long Errors,
    [property: JsonPropertyName("requests_per_s")] double RequestsPerS,
    [property: JsonPropertyName("latency_ms_p50")] double? LatencyMsP50,
    [property: JsonPropertyName("latency_ms_p99")] double? LatencyMsP99,
    [property: JsonPropertyName("peer_requests_per_s")] double? PeerRequestsPerS = null,
    [property: JsonPropertyName("peer_latency_ms_p50")] double? PeerLatencyMsP50 = null,
    [property: JsonPropertyName("peer_latency_ms_p99")] double? PeerLatencyMsP99 = null,
    [property: JsonPropertyName("ratio_to_peer")] double? RatioToPeer = null,
    [property: JsonPropertyName("handler_ms_p50")] double? HandlerMsP50 = null,
    [property: JsonPropertyName("overhead_ms_p50")] double? OverheadMsP50 = null);

/// <summary>The whole result: the rows and the warm invocation overhead (wall − handler time, p50).</summary>
public sealed record ApiBenchResult(
    [property: JsonPropertyName("rows")] IReadOnlyList<ApiBenchRow> Rows,
    [property: JsonPropertyName("invoke_overhead_ms_p50")] double? InvokeOverheadMsP50,
    [property: JsonPropertyName("connections")] int Connections,
    [property: JsonPropertyName("seconds")] double Seconds,
    [property: JsonPropertyName("load_average")] string? LoadAverage);

/// <summary>Sizes of one <c>bench api</c> run.</summary>
public sealed record ApiBenchOptions
{
    public double Seconds { get; init; } = 10;
    public int Connections { get; init; } = 64;
    public int WarmInvocations { get; init; } = 200;
    public int ColdInvocations { get; init; } = 10;
    public string Kind { get; init; } = FunctionKinds.CSharp;
}

/// <summary>
/// <c>autonomic bench api</c>: requests/s and latency of read endpoints of a real control plane (a child
/// <c>autonomic up</c> process with a one-service fleet, so the load generator does not share a process, a heap or
/// a garbage collector with the server), against a bare Kestrel app in its own child process answering the same
/// bytes on the same paths; then warm and cold function invocation latency through the API.
/// </summary>
public static class ApiBenchmark
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>
    /// The read endpoints measured. <c>read</c> is the cheap JSON endpoint (routing, middleware, serialisation);
    /// <c>read_instances</c> also builds the instance list (from the live view when it holds every instance).
    /// </summary>
    public static readonly IReadOnlyList<(string Case, string Path)> ReadEndpoints =
        [("read", "/api/v1/info"), ("read_instances", "/api/v1/instances"), ("read_healthz", "/healthz")];

    public static Command Create()
    {
        var seconds = new Option<double>("--seconds") { Description = "Measured seconds per read endpoint (after a warm-up).", DefaultValueFactory = _ => 10 };
        var connections = new Option<int>("--connections") { Description = "Concurrent keep-alive connections of the closed-loop load generator.", DefaultValueFactory = _ => 64 };
        var warm = new Option<int>("--warm") { Description = "Warm invocations (after one that fills the pool).", DefaultValueFactory = _ => 200 };
        var cold = new Option<int>("--cold") { Description = "Cold invocations (a fresh version is deployed before each).", DefaultValueFactory = _ => 10 };
        var kind = new Option<string>("--kind") { Description = "Function kind: csharp or exec (Python).", DefaultValueFactory = _ => FunctionKinds.CSharp };
        var json = new Option<FileInfo?>("--json") { Description = "Also write the result as JSON to this file." };
        var md = new Option<FileInfo?>("--md") { Description = "Also write the Markdown table to this file." };
        var servePeer = new Option<int?>("--serve-peer") { Description = "Internal: serve the bare Kestrel peer on this port.", Hidden = true };
        var peerBodies = new Option<FileInfo?>("--peer-bodies") { Description = "Internal: JSON object of path to body for the peer.", Hidden = true };
        var command = new Command("api", "Read requests/s and p50/p99 of the API vs a bare Kestrel app, and warm/cold function invocation latency.")
        {
            seconds, connections, warm, cold, kind, json, md, servePeer, peerBodies,
        };
        command.SetAction(async (ParseResult r, CancellationToken ct) =>
        {
            if (r.GetValue(servePeer) is { } peerPort)
            {
                await ServePeerAsync(peerPort, r.GetValue(peerBodies)?.FullName ?? throw new InvalidOperationException("--peer-bodies is required"), ct);
                return 0;
            }

            var options = new ApiBenchOptions
            {
                Seconds = r.GetValue(seconds),
                Connections = r.GetValue(connections),
                WarmInvocations = r.GetValue(warm),
                ColdInvocations = r.GetValue(cold),
                Kind = r.GetValue(kind) ?? FunctionKinds.CSharp,
            };
            if (options.Seconds is <= 0 or > 600 || options.Connections is < 1 or > 4096 || options.WarmInvocations < 1 || options.ColdInvocations < 1
                || options.Kind is not (FunctionKinds.CSharp or FunctionKinds.Exec))
            {
                await Console.Error.WriteLineAsync("error: need 0 < --seconds <= 600, 1 <= --connections <= 4096, --warm >= 1, --cold >= 1, --kind csharp|exec");
                return 2;
            }

            try
            {
                var result = await RunAsync(options, Console.Error, ct);
                var table = ToMarkdown(result);
                await Console.Out.WriteAsync(table);
                if (r.GetValue(json) is { } j)
                {
                    await File.WriteAllTextAsync(j.FullName, ToJson(result), CancellationToken.None);
                }

                if (r.GetValue(md) is { } m)
                {
                    await File.WriteAllTextAsync(m.FullName, table, CancellationToken.None);
                }

                return 0;
            }
            catch (InvalidOperationException e)
            {
                await Console.Error.WriteLineAsync($"error: {e.Message}");
                return 1;
            }
            finally
            {
                ChildProcess.KillAllGroups();
            }
        });
        return command;
    }

    /// <summary>Starts the control plane and the peer, measures, stops both.</summary>
    public static async Task<ApiBenchResult> RunAsync(ApiBenchOptions options, TextWriter log, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(log);
        var dir = Directory.CreateTempSubdirectory("autonomic-bench-api-").FullName;
        ChildProcess? plane = null;
        ChildProcess? peer = null;
        try
        {
            var apiPort = FreePort();
            var bootstrap = Gateway.Auth.ApiKeyFormat.Generate().Key;
            var api = new Uri($"http://127.0.0.1:{apiPort.ToString(CultureInfo.InvariantCulture)}/");
            var servicePort = FreePort();
            var fleet = Path.Combine(dir, "fleet.yaml");
            await File.WriteAllTextAsync(fleet, Systems.AutonomicSystem.FleetYaml(ServiceCommand.Workload(servicePort), servicePort, "/healthz", socketActivation: false), ct);
            var (file, prefix) = SelfCommand();
            await log.WriteLineAsync($"bench api: starting autonomic up on {api}");
            plane = ChildProcess.Start(file, [.. prefix, "up", "-f", fleet], dir, new Dictionary<string, string>
            {
                ["AUTONOMIC_STORE"] = $"sqlite:{Path.Combine(dir, "state.db")}",
                ["AUTONOMIC_LOG_DIR"] = Path.Combine(dir, "logs"),
                ["AUTONOMIC_API"] = api.ToString().TrimEnd('/'),
                ["AUTONOMIC_BOOTSTRAP_KEY"] = bootstrap,
            });
            using var http = CreateClient(options.Connections);
            http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", bootstrap);
            await WaitAsync(http, new Uri(api, "healthz"), plane, ct);
            // Requests carry a key of their own without a rate limit, so the numbers include authentication but no throttling.
            using (var created = await http.PostAsync(new Uri(api, "api/v1/keys"), JsonContent.Create(new { name = "bench", role = "admin", rate = 0 }), ct))
            {
                created.EnsureSuccessStatusCode();
                using var doc = System.Text.Json.JsonDocument.Parse(await created.Content.ReadAsStringAsync(ct));
                http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", doc.RootElement.GetProperty("key").GetString());
            }

            // The fleet's one instance is listed once it is ready, so /instances returns a real, non-empty list.
            await Poll.UntilAsync(async () => (await GetBodyAsync(http, new Uri(api, "api/v1/instances"), ct)).Contains("\"ready\"", StringComparison.Ordinal),
                TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100), TimeProvider.System, ct);

            // The peer answers exactly the bytes the control plane answered, on the same paths.
            var bodies = new Dictionary<string, string>();
            foreach (var (_, path) in ReadEndpoints)
            {
                bodies[path] = await GetBodyAsync(http, new Uri(api, path.TrimStart('/')), ct);
            }

            var bodiesFile = Path.Combine(dir, "peer-bodies.json");
            await File.WriteAllTextAsync(bodiesFile, JsonSerializer.Serialize(bodies), ct);
            var peerPort = FreePort();
            var peerBase = new Uri($"http://127.0.0.1:{peerPort.ToString(CultureInfo.InvariantCulture)}/");
            peer = ChildProcess.Start(file, [.. prefix, "bench", "api", "--serve-peer", peerPort.ToString(CultureInfo.InvariantCulture), "--peer-bodies", bodiesFile], dir);
            await WaitAsync(http, new Uri(peerBase, "healthz"), peer, ct);

            var duration = TimeSpan.FromSeconds(options.Seconds);
            var warmup = TimeSpan.FromSeconds(Math.Min(2, Math.Max(0.2, options.Seconds / 5)));
            var rows = new List<ApiBenchRow>();
            // Both servers get every endpoint once before anything is measured: otherwise the first case pays for the
            // just-started processes' JIT tiering and start-up work (it measured at a fifth of its later rate).
            await log.WriteLineAsync($"bench api: warming both servers up on every endpoint ({warmup.TotalSeconds:0.#} s each)");
            foreach (var (_, path) in ReadEndpoints)
            {
                await LoadAsync(http, new Uri(api, path.TrimStart('/')), options.Connections, warmup, TimeSpan.Zero, ct);
                await LoadAsync(http, new Uri(peerBase, path.TrimStart('/')), options.Connections, warmup, TimeSpan.Zero, ct);
            }

            foreach (var (name, path) in ReadEndpoints)
            {
                await log.WriteLineAsync($"bench api: {name} GET {path}, {options.Connections} connections, {options.Seconds} s each");
                var ours = await LoadAsync(http, new Uri(api, path.TrimStart('/')), options.Connections, warmup, duration, ct);
                var theirs = await LoadAsync(http, new Uri(peerBase, path.TrimStart('/')), options.Connections, warmup, duration, ct);
                rows.Add(new ApiBenchRow(name, "GET " + path, ours.Requests, ours.Errors, ours.Rps, ours.P50, ours.P99,
                    theirs.Rps, theirs.P50, theirs.P99, theirs.Rps > 0 ? Math.Round(ours.Rps / theirs.Rps, 3) : null));
            }

            await log.WriteLineAsync($"bench api: invoking a {options.Kind} no-op function {options.WarmInvocations} times warm, {options.ColdInvocations} cold");
            var invoke = await InvokeBenchmark.RunHttpAsync(api, new InvokeBenchOptions
            {
                Kinds = [options.Kind],
                ApiKey = http.DefaultRequestHeaders.Authorization?.Parameter,
                WarmInvocations = options.WarmInvocations,
                ColdInvocations = options.ColdInvocations,
            }, ct);
            foreach (var row in invoke)
            {
                rows.Add(new ApiBenchRow(
                    "invoke_" + row.Mode,
                    $"POST /api/v1/functions/NAME/invoke ({row.Kind})",
                    row.Invocations,
                    row.Invocations - row.Succeeded,
                    row.WallMsP50 is > 0 and var w ? Math.Round(1000 / w, 1) : 0,
                    row.WallMsP50,
                    row.WallMsP99,
                    HandlerMsP50: row.HandlerMsP50,
                    OverheadMsP50: row.OverheadMsP50));
            }

            var overhead = invoke.FirstOrDefault(r => r.Mode == "warm")?.OverheadMsP50;
            return new ApiBenchResult(rows, overhead, options.Connections, options.Seconds, LoadAverage());
        }
        finally
        {
            foreach (var child in new[] { peer, plane })
            {
                if (child is not null)
                {
                    child.Signal(Posix.SigTerm);
                    await child.WaitForExitAsync(TimeSpan.FromSeconds(15));
                    child.Dispose();
                }
            }

            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // Leftovers in the system temp directory.
            }
        }
    }

    private sealed record LoadResult(long Requests, long Errors, double Rps, double? P50, double? P99);

    /// <summary>
    /// Closed loop: <paramref name="connections"/> workers, each sends a GET and waits for the whole body before the
    /// next. Requests completing during the warm-up are not counted.
    /// </summary>
    private static async Task<LoadResult> LoadAsync(HttpClient http, Uri url, int connections, TimeSpan warmup, TimeSpan duration, CancellationToken ct)
    {
        var start = Stopwatch.GetTimestamp();
        var measureFrom = start + (long)(warmup.TotalSeconds * Stopwatch.Frequency);
        var stopAt = measureFrom + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var workers = new Task<(List<double> Latencies, long Errors)>[connections];
        for (var i = 0; i < connections; i++)
        {
            workers[i] = Task.Run(async () =>
            {
                var latencies = new List<double>(4096);
                long errors = 0;
                var buffer = new byte[16 * 1024];
                while (true)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    if (t0 >= stopAt)
                    {
                        break;
                    }

                    var ok = false;
                    try
                    {
                        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, ct);
                        await using var stream = await response.Content.ReadAsStreamAsync(ct);
                        while (await stream.ReadAsync(buffer, ct) > 0)
                        {
                        }

                        ok = response.IsSuccessStatusCode;
                    }
                    catch (HttpRequestException)
                    {
                    }
                    catch (TaskCanceledException) when (!ct.IsCancellationRequested)
                    {
                    }

                    var t1 = Stopwatch.GetTimestamp();
                    if (t0 >= measureFrom && t1 <= stopAt)
                    {
                        if (ok)
                        {
                            latencies.Add(Stopwatch.GetElapsedTime(t0, t1).TotalMilliseconds);
                        }
                        else
                        {
                            errors++;
                        }
                    }
                }

                return (latencies, errors);
            }, ct);
        }

        var results = await Task.WhenAll(workers);
        var all = results.SelectMany(r => r.Latencies).ToList();
        var errorsTotal = results.Sum(r => r.Errors);
        return new LoadResult(
            all.Count,
            errorsTotal,
            Math.Round(all.Count / duration.TotalSeconds, 1),
            Round(Percentile.NearestRank(all, 50)),
            Round(Percentile.NearestRank(all, 99)));
    }

    private static HttpClient CreateClient(int connections) => new(new SocketsHttpHandler
    {
        UseProxy = false,
        MaxConnectionsPerServer = connections,
        PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        AutomaticDecompression = DecompressionMethods.None,
        UseCookies = false,
    })
    { Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<string> GetBodyAsync(HttpClient http, Uri url, CancellationToken ct)
    {
        try
        {
            using var response = await http.GetAsync(url, ct);
            return response.IsSuccessStatusCode ? await response.Content.ReadAsStringAsync(ct) : "";
        }
        catch (HttpRequestException)
        {
            return "";
        }
    }

    private static async Task WaitAsync(HttpClient http, Uri url, ChildProcess child, CancellationToken ct)
    {
        var up = await Poll.UntilAsync(async () => child.HasExited || (await GetBodyAsync(http, url, ct)).Length > 0,
            TimeSpan.FromSeconds(60), TimeSpan.FromMilliseconds(100), TimeProvider.System, ct);
        if (!up || child.HasExited)
        {
            throw new InvalidOperationException($"nothing served {url}:\n{child.Tail}");
        }
    }

    /// <summary>The peer: a bare Kestrel app (no logging, no middleware) answering fixed bytes per path until stopped.</summary>
    private static async Task ServePeerAsync(int port, string bodiesFile, CancellationToken ct)
    {
        var bodies = JsonSerializer.Deserialize<Dictionary<string, string>>(await File.ReadAllTextAsync(bodiesFile, ct)) ?? [];
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
        var app = builder.Build();
        foreach (var (path, body) in bodies)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            var type = body.StartsWith('{') || body.StartsWith('[') ? "application/json" : "text/plain";
            app.MapGet(path, () => Results.Bytes(bytes, type));
        }

        await app.StartAsync(ct);
        try
        {
            await app.WaitForShutdownAsync(ct);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>This very executable: the apphost when running as one, otherwise autonomic.dll under dotnet.</summary>
    private static (string File, string[] Prefix) SelfCommand()
    {
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self) == "autonomic")
        {
            return (self, []);
        }

        return (ServiceCommand.DotnetHost(), [Path.Combine(AppContext.BaseDirectory, "autonomic.dll")]);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string? LoadAverage()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static double? Round(double? v) => v is { } x ? Math.Round(x, 3) : null;

    public static string ToJson(ApiBenchResult result) => JsonSerializer.Serialize(result, JsonOptions);

    public static string ToMarkdown(ApiBenchResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var sb = new StringBuilder();
        sb.AppendLine("| case | endpoint | requests | errors | req/s | p50 (ms) | p99 (ms) | peer req/s | peer p50 (ms) | peer p99 (ms) | autonomic/peer | handler p50 (ms) | overhead p50 (ms) |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        foreach (var r in result.Rows)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Case} | `{r.Endpoint}` | {r.Requests} | {r.Errors} | {Num(r.RequestsPerS)} | {Num(r.LatencyMsP50)} | {Num(r.LatencyMsP99)} | {Num(r.PeerRequestsPerS)} | {Num(r.PeerLatencyMsP50)} | {Num(r.PeerLatencyMsP99)} | {Num(r.RatioToPeer)} | {Num(r.HandlerMsP50)} | {Num(r.OverheadMsP50)} |");
        }

        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture,
            $"Warm invocation overhead p50 (wall − handler): {Num(result.InvokeOverheadMsP50)} ms. {result.Connections} connections, {Num(result.Seconds)} s per read endpoint; load average at the end: {result.LoadAverage ?? "-"}.");
        return sb.ToString();
    }

    private static string Num(double? v) => v is { } x ? x.ToString("0.###", CultureInfo.InvariantCulture) : "-";
}
