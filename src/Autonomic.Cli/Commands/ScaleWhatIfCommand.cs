using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autonomic.Core.Scaling;

namespace Autonomic.Cli.Commands;

/// <summary>
/// <c>autonomic scale what-if</c>: reads a Kubernetes-style pod picture as JSON on stdin and prints what the HPA's
/// replica calculation makes of it. Works offline: it runs <see cref="HpaReplicaCalculator"/> in this process.
/// </summary>
public static class ScaleCommand
{
    /// <summary>
    /// The <c>scale</c> command: <c>scale SERVICE N</c> (through the API, when the CLI builds it with a client runner) and
    /// its <c>what-if</c> subcommand. <paramref name="input"/> gives stdin (the context's by default).
    /// </summary>
    public static Command Create(CliContext context, Func<TextReader>? input = null) => Create(context, input, null);

    internal static Command Create(CliContext context, Func<TextReader>? input, ClientRunner? runner)
    {
        ArgumentNullException.ThrowIfNull(context);
        input ??= () => context.In;
        var whatIf = new Command("what-if", "Compute the HPA's desired replicas from JSON on stdin: {\"currentReplicas\": 3, \"targetUtilization\": 30, \"pods\": [{\"state\": \"ready\", \"requestMillicores\": 1000, \"usageMillicores\": 500}]}");
        whatIf.SetAction(async (_, ct) =>
        {
            var text = await input().ReadToEndAsync(ct);
            var (code, json) = ScaleWhatIf.Evaluate(text);
            await context.Out.WriteLineAsync(json);
            return code;
        });

        if (runner is not null)
        {
            var scaleService = ServicesCommand.CreateScale(runner);
            scaleService.Subcommands.Add(whatIf);
            return scaleService;
        }

        var scale = new Command("scale", "Scaling tools: what-if") { whatIf };
        scale.SetAction(parse =>
        {
            new System.CommandLine.Help.HelpAction().Invoke(parse);
            return 2;
        });
        return scale;
    }
}

/// <summary>The what-if computation: JSON text in, exit code and one JSON object out.</summary>
public static class ScaleWhatIf
{
    private static readonly string[] States = ["ready", "unready", "missing", "ignored"];

    /// <summary>
    /// <c>(0, {"desiredReplicas": N, "utilization": P})</c>, or <c>(1, {"error": "..."})</c> when the input is malformed
    /// (the message names the field) or the HPA cannot compute a count (no pods with metrics, zero requests).
    /// </summary>
    public static (int ExitCode, string Json) Evaluate(string text)
    {
        try
        {
            var (current, target, tolerance, pods) = Parse(text);
            var result = HpaReplicaCalculator.ResourceReplicas(current, target, pods, tolerance);
            return (0, new JsonObject { ["desiredReplicas"] = result.DesiredReplicas, ["utilization"] = result.Utilization }.ToJsonString());
        }
        catch (WhatIfInputException e)
        {
            return Error(e.Message);
        }
        catch (HpaCalculationException e)
        {
            return Error(e.Message);
        }
        catch (JsonException e)
        {
            return Error($"malformed JSON{(e.LineNumber is { } l ? $" at line {l + 1}" : "")}: {e.Message.Split(" Path:", 2)[0].Split(" LineNumber:", 2)[0]}");
        }
    }

    private static (int, string) Error(string message) => (1, new JsonObject { ["error"] = message }.ToJsonString());

    private sealed class WhatIfInputException(string message) : Exception(message);

    private static (int Current, int Target, double Tolerance, List<HpaPod> Pods) Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new WhatIfInputException("no input: pass a JSON object on stdin");
        }

        using var doc = JsonDocument.Parse(text);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw new WhatIfInputException($"expected a JSON object, got {Kind(root)}");
        }

        int current = (int)Whole(root, "currentReplicas", "currentReplicas", required: true, min: 0)!.Value;
        int target = (int)Whole(root, "targetUtilization", "targetUtilization", required: true, min: 1)!.Value;
        double tolerance = 0.1;
        if (root.TryGetProperty("tolerance", out var t) && t.ValueKind != JsonValueKind.Null)
        {
            if (t.ValueKind != JsonValueKind.Number || !t.TryGetDouble(out tolerance) || tolerance < 0 || tolerance >= 1)
            {
                throw new WhatIfInputException($"tolerance: expected a number from 0 to below 1, got {t.GetRawText()}");
            }
        }

        if (!root.TryGetProperty("pods", out var list) || list.ValueKind == JsonValueKind.Null)
        {
            throw new WhatIfInputException("pods: required, a list of {state, requestMillicores, usageMillicores}");
        }

        if (list.ValueKind != JsonValueKind.Array)
        {
            throw new WhatIfInputException($"pods: expected a list, got {Kind(list)}");
        }

        var pods = new List<HpaPod>();
        int i = 0;
        foreach (var p in list.EnumerateArray())
        {
            string at = $"pods[{i}]";
            if (p.ValueKind != JsonValueKind.Object)
            {
                throw new WhatIfInputException($"{at}: expected an object, got {Kind(p)}");
            }

            if (!p.TryGetProperty("state", out var s) || s.ValueKind != JsonValueKind.String)
            {
                throw new WhatIfInputException($"{at}.state: required, one of {string.Join(", ", States)}");
            }

            int index = Array.IndexOf(States, s.GetString());
            if (index < 0)
            {
                throw new WhatIfInputException($"{at}.state: unknown state \"{s.GetString()}\"; expected one of {string.Join(", ", States)}");
            }

            var state = (HpaPodState)index;
            long request = Whole(p, "requestMillicores", at + ".requestMillicores", required: state != HpaPodState.Ignored, min: 0) ?? 0;
            if (request == 0 && state != HpaPodState.Ignored)
            {
                throw new WhatIfInputException($"{at}.requestMillicores: a pod with a zero CPU request has no utilization; expected more than 0");
            }

            long? usage = Whole(p, "usageMillicores", at + ".usageMillicores", required: state == HpaPodState.Ready, min: 0);
            pods.Add(new HpaPod(state, request, state == HpaPodState.Missing ? null : usage));
            i++;
        }

        return (current, target, tolerance, pods);
    }

    private static long? Whole(JsonElement obj, string name, string field, bool required, long min)
    {
        if (!obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
        {
            return required ? throw new WhatIfInputException($"{field}: required") : null;
        }

        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long value))
        {
            throw new WhatIfInputException($"{field}: expected a whole number, got {v.GetRawText()}");
        }

        if (value < min || value > int.MaxValue)
        {
            throw new WhatIfInputException($"{field}: expected a whole number from {min.ToString(CultureInfo.InvariantCulture)}, got {value.ToString(CultureInfo.InvariantCulture)}");
        }

        return value;
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Array => "a list",
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        _ => "null",
    };
}
