using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Autonomic.Cli.Load;

namespace Autonomic.Cli.Commands;

/// <summary>
/// <c>autonomic load</c>: an open-loop HTTP load generator (constant, step and trace-replay profiles) with a
/// report per window and a summary, and <c>load trace-from-log</c>, which turns a server's request history into
/// a requests-per-interval CSV.
/// </summary>
public static partial class LoadCommand
{
    public static Command Create(CliContext? context = null)
    {
        context ??= CliContext.FromProcess();
        var load = new Command("load", "Send HTTP load on a schedule (open loop) and report latency and errors per window.");
        load.Subcommands.Add(Constant(context));
        load.Subcommands.Add(Step(context));
        load.Subcommands.Add(Replay(context));
        load.Subcommands.Add(FromLog(context));
        return load;
    }

    private sealed record Common(Option<string> Url, Option<string> Timeout, Option<string> Window, Option<FileInfo?> Json, Option<int> MaxInFlight);

    private static Common AddCommon(Command command)
    {
        var common = new Common(
            new Option<string>("--url") { Description = "URL every request GETs, e.g. http://127.0.0.1:8080/work", Required = true },
            new Option<string>("--timeout") { Description = "Per-request timeout (500ms, 5s).", DefaultValueFactory = _ => "5s" },
            new Option<string>("--window") { Description = "Length of a report window.", DefaultValueFactory = _ => "10s" },
            new Option<FileInfo?>("--json") { Description = "Also write the windows and the summary as JSON to this file." },
            new Option<int>("--max-in-flight") { Description = "Requests in flight beyond this are dropped, not sent.", DefaultValueFactory = _ => 5000 });
        command.Options.Add(common.Url);
        command.Options.Add(common.Timeout);
        command.Options.Add(common.Window);
        command.Options.Add(common.Json);
        command.Options.Add(common.MaxInFlight);
        return common;
    }

    private static Command Constant(CliContext context)
    {
        var rps = new Option<double>("--rps") { Description = "Requests per second.", Required = true };
        var duration = new Option<string>("--duration") { Description = "How long (30s, 2m).", Required = true };
        var command = new Command("constant", "A constant rate.") { rps, duration };
        var common = AddCommon(command);
        command.SetAction((r, ct) => RunAsync(context, r, common, () =>
        {
            double rate = Positive(r.GetValue(rps), "--rps");
            return LoadProfile.Constant(rate, ParseDuration(r.GetValue(duration), "--duration"));
        }, ct));
        return command;
    }

    private static Command Step(CliContext context)
    {
        var from = new Option<double>("--from") { Description = "Rate of the first step.", Required = true };
        var to = new Option<double>("--to") { Description = "Rate of the last step.", Required = true };
        var steps = new Option<int>("--steps") { Description = "Number of equal steps.", DefaultValueFactory = _ => 5 };
        var duration = new Option<string>("--duration") { Description = "Total length (1m, 90s).", Required = true };
        var command = new Command("step", "Rates in equal steps from one rate to another.") { from, to, steps, duration };
        var common = AddCommon(command);
        command.SetAction((r, ct) => RunAsync(context, r, common, () =>
        {
            int n = r.GetValue(steps);
            if (n < 1 || r.GetValue(from) < 0 || r.GetValue(to) < 0)
            {
                throw new FormatException("--steps must be at least 1 and the rates at least 0");
            }

            return LoadProfile.Step(r.GetValue(from), r.GetValue(to), n, ParseDuration(r.GetValue(duration), "--duration"));
        }, ct));
        return command;
    }

    private static Command Replay(CliContext context)
    {
        var trace = new Option<FileInfo>("--trace") { Description = "CSV of requests per interval: one column, timestamp,requests, or a header with a requests column.", Required = true };
        var interval = new Option<double>("--interval-seconds") { Description = "Length of one row of the trace.", DefaultValueFactory = _ => 60 };
        var compress = new Option<double>("--compress") { Description = "Time compression: a row lasts interval/compress seconds.", DefaultValueFactory = _ => 1 };
        var scale = new Option<double>("--scale") { Description = "Multiply each row's requests by this.", DefaultValueFactory = _ => 1 };
        var busiest = new Option<int?>("--busiest") { Description = "Replay only the N consecutive rows with the highest total (the busy stretch)." };
        var command = new Command("replay", "Replay a recorded request-rate trace, time-compressed.") { trace, interval, compress, scale, busiest };
        var common = AddCommon(command);
        command.SetAction((r, ct) => RunAsync(context, r, common, () =>
        {
            double seconds = Positive(r.GetValue(interval), "--interval-seconds");
            double factor = Positive(r.GetValue(compress), "--compress");
            double multiply = Positive(r.GetValue(scale), "--scale");
            var file = r.GetValue(trace)!;
            if (!file.Exists)
            {
                throw new FormatException($"--trace: no such file {file.FullName}");
            }

            var t = RequestTrace.ReadCsv(file.FullName, seconds);
            if (r.GetValue(busiest) is { } rows)
            {
                t = t.Busiest(rows < 1 ? throw new FormatException("--busiest must be at least 1") : rows);
            }

            return LoadProfile.Replay(t.Requests, seconds, factor, multiply);
        }, ct));
        return command;
    }

    private static Command FromLog(CliContext context)
    {
        var log = new Argument<FileInfo>("LOG") { Description = "Common Log Format access log, per-second counts, or a CSV with a requests column (.gz allowed)." };
        var interval = new Option<double>("--interval-seconds") { Description = "Length of one output row.", DefaultValueFactory = _ => 60 };
        var busiest = new Option<int?>("--busiest") { Description = "Write only the N consecutive rows with the highest total (the busy stretch)." };
        var command = new Command("trace-from-log", "Turn a request log into a CSV of requests per interval (timestamp,requests) on stdout.") { log, interval, busiest };
        command.SetAction(async (r, ct) =>
        {
            try
            {
                var file = r.GetValue(log)!;
                if (!file.Exists)
                {
                    await context.Error.WriteLineAsync($"error: no such file {file.FullName}");
                    return 2;
                }

                var trace = TraceFromLog.Convert(file.FullName, Positive(r.GetValue(interval), "--interval-seconds"));
                if (r.GetValue(busiest) is { } rows)
                {
                    trace = trace.Busiest(rows < 1 ? throw new FormatException("--busiest must be at least 1") : rows);
                }

                trace.WriteCsv(context.Out);
                await context.Out.FlushAsync(ct);
                return 0;
            }
            catch (FormatException e)
            {
                await context.Error.WriteLineAsync($"error: {e.Message}");
                return 2;
            }
        });
        return command;
    }

    private static async Task<int> RunAsync(CliContext context, ParseResult r, Common common, Func<LoadProfile> profile, CancellationToken ct)
    {
        LoadProfile schedule;
        LoadOptions options;
        try
        {
            string url = r.GetValue(common.Url)!;
            if (!Uri.TryCreate(url, UriKind.Absolute, out Uri? target) || (target.Scheme != Uri.UriSchemeHttp && target.Scheme != Uri.UriSchemeHttps))
            {
                throw new FormatException($"--url must be an http:// URL, not '{url}'");
            }

            options = new LoadOptions
            {
                Target = target,
                Timeout = ParseDuration(r.GetValue(common.Timeout), "--timeout"),
                Window = ParseDuration(r.GetValue(common.Window), "--window"),
                MaxInFlight = Math.Max(1, r.GetValue(common.MaxInFlight)),
            };
            schedule = profile();
        }
        catch (FormatException e)
        {
            await context.Error.WriteLineAsync($"error: {e.Message}");
            return 2;
        }

        await context.Out.WriteLineAsync($"load: {schedule.Description} -> {options.Target} (about {schedule.TotalRequests:0} requests, open loop)");
        await context.Out.WriteLineAsync(Header);
        var generator = new LoadGenerator(options, context.Time)
        {
            OnWindow = w =>
            {
                lock (context.Out)
                {
                    context.Out.WriteLine(Row(w.StartSeconds.ToString("0", CultureInfo.InvariantCulture) + "s", w));
                }
            },
        };
        LoadReport report;
        try
        {
            report = await generator.RunAsync(schedule, ct);
        }
        catch (OperationCanceledException)
        {
            await context.Error.WriteLineAsync("load: cancelled");
            return 130;
        }

        await context.Out.WriteLineAsync(Row("total", report.Summary));
        if (r.GetValue(common.Json) is { } json)
        {
            await File.WriteAllTextAsync(json.FullName, ToJson(report), CancellationToken.None);
        }

        return 0;
    }

    private const string Header = "| window | sent | rps | ok | errors | timeouts | dropped | p50 ms | p95 ms | p99 ms |\n|---|---|---|---|---|---|---|---|---|---|";

    private static string Row(string label, LoadWindow w) => string.Create(CultureInfo.InvariantCulture,
        $"| {label} | {w.Sent} | {w.SentPerSecond:0.#} | {w.Ok} | {w.Errors} | {w.Timeouts} | {w.Dropped} | {w.LatencyMsP50:0.#} | {w.LatencyMsP95:0.#} | {w.LatencyMsP99:0.#} |");

    /// <summary>The report as JSON: target, profile, windows and summary with snake_case fields.</summary>
    public static string ToJson(LoadReport report)
    {
        static object Shape(LoadWindow w) => new Dictionary<string, object>
        {
            ["start_s"] = w.StartSeconds,
            ["seconds"] = w.Seconds,
            ["sent"] = w.Sent,
            ["ok"] = w.Ok,
            ["errors"] = w.Errors,
            ["timeouts"] = w.Timeouts,
            ["dropped"] = w.Dropped,
            ["latency_ms_p50"] = Math.Round(w.LatencyMsP50, 3),
            ["latency_ms_p95"] = Math.Round(w.LatencyMsP95, 3),
            ["latency_ms_p99"] = Math.Round(w.LatencyMsP99, 3),
        };
        var document = new Dictionary<string, object>
        {
            ["target"] = report.Target,
            ["profile"] = report.Profile,
            ["windows"] = report.Windows.Select(Shape).ToArray(),
            ["summary"] = Shape(report.Summary),
        };
        return JsonSerializer.Serialize(document, JsonOptions) + "\n";
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")]
    private static partial Regex DurationPattern();

    /// <summary>Parses 500ms, 30s, 2m, 1h or a plain number of seconds.</summary>
    public static TimeSpan ParseDuration(string? text, string option)
    {
        Match m = DurationPattern().Match(text?.Trim() ?? "");
        if (!m.Success)
        {
            throw new FormatException($"{option} must be a duration like 500ms, 30s or 2m, got '{text}'");
        }

        double value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        TimeSpan result = m.Groups[2].Value switch
        {
            "ms" => TimeSpan.FromMilliseconds(value),
            "m" => TimeSpan.FromMinutes(value),
            "h" => TimeSpan.FromHours(value),
            _ => TimeSpan.FromSeconds(value),
        };
        return result > TimeSpan.Zero ? result : throw new FormatException($"{option} must be greater than 0, got '{text}'");
    }

    private static double Positive(double value, string option) =>
        value > 0 && !double.IsInfinity(value) ? value : throw new FormatException($"{option} must be greater than 0, got {value.ToString(CultureInfo.InvariantCulture)}");
}
