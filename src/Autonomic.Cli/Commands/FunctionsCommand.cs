using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Autonomic.Core.Abstractions;
using Autonomic.Gateway.Functions;
using Spectre.Console;

namespace Autonomic.Cli.Commands;

/// <summary><c>autonomic fn deploy|invoke|ls|rm</c>: Lambda-style functions through the API.</summary>
internal static class FunctionsCommand
{
    public static Command Create(ClientRunner runner)
    {
        var command = new Command("fn", "Deploy and invoke functions (C# handlers or executables speaking JSON lines)");
        command.Subcommands.Add(Deploy(runner));
        command.Subcommands.Add(Invoke(runner));
        command.Subcommands.Add(List(runner));
        command.Subcommands.Add(Remove(runner));
        return command;
    }

    private static Command Deploy(ClientRunner runner)
    {
        var name = new Argument<string>("name") { Description = "Function name: lowercase letters, digits and '-'" };
        var path = new Argument<string>("path") { Description = "A .cs file (kind csharp) or an executable script with a #! line (kind exec)" };
        var timeout = new Option<int?>("--timeout-ms") { Description = "Wall-clock limit of one invocation (default 3000)" };
        var memory = new Option<int?>("--memory-mb") { Description = "Memory limit of a worker (default 256)" };
        var cpu = new Option<int?>("--cpu-seconds") { Description = "CPU-time limit of a worker over its life" };
        var maxWorkers = new Option<int?>("--max-workers") { Description = "Most concurrent workers (default 4)" };
        var minIdle = new Option<int?>("--min-idle") { Description = "Workers kept warm (pre-warm; default 0)" };
        var env = new Option<string[]>("--env") { Description = "KEY=VALUE given to the workers (repeatable)", AllowMultipleArgumentsPerToken = false };
        var json = new Option<bool>("--json") { Description = "Print the API's JSON" };
        var deploy = new Command("deploy", "Deploy a new version of a function") { name, path, timeout, memory, cpu, maxWorkers, minIdle, env, json };
        deploy.SetAction(async (parse, ct) =>
        {
            var file = parse.GetValue(path)!;
            var (request, problem) = BuildRequest(parse.GetValue(name)!, file, parse.GetValue(env) ?? []);
            if (problem is not null)
            {
                await runner.Context.Error.WriteLineAsync($"error: {problem}");
                return 2;
            }

            request = request! with
            {
                TimeoutMs = parse.GetValue(timeout),
                MemoryMb = parse.GetValue(memory),
                CpuSeconds = parse.GetValue(cpu),
                MaxWorkers = parse.GetValue(maxWorkers),
                MinIdle = parse.GetValue(minIdle),
            };
            return await runner.RunAsync(parse, async client =>
            {
                var text = await client.PostJsonAsync("api/v1/functions", request, ct);
                if (parse.GetValue(json))
                {
                    await runner.Context.Out.WriteLineAsync(text);
                    return 0;
                }

                var info = ApiClient.Parse<FunctionVersionInfo>(text);
                await runner.Context.Out.WriteLineAsync($"deployed {info.Name} version {info.Version} ({info.Kind}, timeout {info.TimeoutMs} ms, memory {info.MemoryMb} MB, up to {info.MaxWorkers} workers)");
                return 0;
            });
        });
        return deploy;
    }

    /// <summary>A .cs file is a csharp function; any other readable text file with a #! line is an exec function.</summary>
    internal static (FunctionDeployRequest? Request, string? Problem) BuildRequest(string name, string file, string[] env)
    {
        if (!File.Exists(file))
        {
            return (null, $"'{file}' does not exist");
        }

        var variables = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in env)
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0)
            {
                return (null, $"--env takes KEY=VALUE, not '{pair}'");
            }

            variables[pair[..eq]] = pair[(eq + 1)..];
        }

        string source;
        try
        {
            source = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(File.ReadAllBytes(file));
        }
        catch (DecoderFallbackException)
        {
            return (null, $"'{file}' is not UTF-8 text: deploy binaries through the API with a command");
        }

        var fileName = Path.GetFileName(file);
        if (file.EndsWith(".cs", StringComparison.OrdinalIgnoreCase))
        {
            return (new FunctionDeployRequest { Name = name, Kind = FunctionKinds.CSharp, Source = source, FileName = fileName, Env = variables }, null);
        }

        if (!source.StartsWith("#!", StringComparison.Ordinal))
        {
            return (null, $"'{file}' is neither a .cs file nor a script starting with #! (e.g. #!/usr/bin/env python3)");
        }

        return (new FunctionDeployRequest { Name = name, Kind = FunctionKinds.Exec, Source = source, FileName = fileName, Env = variables }, null);
    }

    private static Command Invoke(ClientRunner runner)
    {
        var name = new Argument<string>("name") { Description = "Function name" };
        var data = new Option<string>("--data", "-d") { Description = "The event as JSON (default null)" };
        var version = new Option<int?>("--version") { Description = "Version to invoke (default: the latest)" };
        var json = new Option<bool>("--json") { Description = "Print the whole invocation result as JSON" };
        var invoke = new Command("invoke", "Invoke a function with an event; prints its response") { name, data, version, json };
        invoke.SetAction(async (parse, ct) =>
        {
            JsonElement payload;
            try
            {
                using var doc = JsonDocument.Parse(parse.GetValue(data) ?? "null");
                payload = doc.RootElement.Clone();
            }
            catch (JsonException e)
            {
                await runner.Context.Error.WriteLineAsync($"error: --data is not JSON: {e.Message}");
                return 2;
            }

            if (parse.GetValue(version) is < 1)
            {
                await runner.Context.Error.WriteLineAsync("error: --version must be a positive integer");
                return 2;
            }

            return await runner.RunAsync(parse, async client =>
            {
                var path = $"api/v1/functions/{Uri.EscapeDataString(parse.GetValue(name)!)}/invoke"
                    + (parse.GetValue(version) is { } v ? $"?version={v.ToString(CultureInfo.InvariantCulture)}" : "");
                var text = await client.PostJsonAsync(path, payload, ct);
                if (parse.GetValue(json))
                {
                    await runner.Context.Out.WriteLineAsync(text);
                    return 0;
                }

                var result = ApiClient.Parse<InvocationResult>(text);
                foreach (var line in result.Logs)
                {
                    await runner.Context.Error.WriteLineAsync("log: " + line);
                }

                if (result.Status == InvocationStatus.Succeeded)
                {
                    await runner.Context.Out.WriteLineAsync(result.Response is { } r ? r.GetRawText() : "null");
                }
                else
                {
                    await runner.Context.Error.WriteLineAsync($"error: the handler failed: {result.Error}");
                }

                var handler = result.HandlerMs is { } h ? $", handler {h.ToString("0.###", CultureInfo.InvariantCulture)} ms" : "";
                await runner.Context.Error.WriteLineAsync(
                    $"{result.Function} v{result.Version}: {StatusText(result.Status)}, {(result.Cold ? "cold" : "warm")}, {result.DurationMs.ToString("0.###", CultureInfo.InvariantCulture)} ms{handler}");
                return result.Status == InvocationStatus.Succeeded ? 0 : 1;
            });
        });
        return invoke;
    }

    private static string StatusText(InvocationStatus status) => JsonNamingPolicy.SnakeCaseLower.ConvertName(status.ToString());

    private static Command List(ClientRunner runner)
    {
        var json = new Option<bool>("--json") { Description = "Print the API's JSON instead of a table" };
        var ls = new Command("ls", "List functions and their latest version") { json };
        ls.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var text = await client.GetTextAsync("api/v1/functions", ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            var functions = ApiClient.Parse<List<FunctionInfo>>(text);
            var table = new Table().Border(TableBorder.Rounded);
            foreach (var column in new[] { "name", "latest", "versions", "kind", "timeout", "memory", "workers", "deployed" })
            {
                table.AddColumn(column);
            }

            foreach (var f in functions)
            {
                var latest = f.Versions.FirstOrDefault(v => v.Version == f.Latest) ?? (f.Versions.Count > 0 ? f.Versions[^1] : null);
                table.AddRow(
                    new Text(f.Name),
                    new Text(f.Latest.ToString(CultureInfo.InvariantCulture)),
                    new Text(f.Versions.Count.ToString(CultureInfo.InvariantCulture)),
                    new Text(latest?.Kind ?? "-"),
                    new Text(latest is null ? "-" : $"{latest.TimeoutMs} ms"),
                    new Text(latest is null ? "-" : $"{latest.MemoryMb} MB"),
                    new Text(latest is null ? "-" : $"{latest.MinIdle}..{latest.MaxWorkers}"),
                    new Text(Format.Time(latest?.DeployedAt)));
            }

            runner.Context.Console.Write(table);
            runner.Context.Console.Write(new Text($"{functions.Count} functions\n"));
            return 0;
        }));
        return ls;
    }

    private static Command Remove(ClientRunner runner)
    {
        var name = new Argument<string>("name") { Description = "Function name" };
        var rm = new Command("rm", "Delete a function: every version, its package and its workers") { name };
        rm.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var fn = parse.GetValue(name)!;
            await client.DeleteAsync($"api/v1/functions/{Uri.EscapeDataString(fn)}", ct);
            await runner.Context.Out.WriteLineAsync($"deleted {fn}");
            return 0;
        }));
        return rm;
    }
}
