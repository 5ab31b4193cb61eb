using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autonomic.Backends.Fleet;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;
using Autonomic.Gateway.Services;
using Spectre.Console;

namespace Autonomic.Cli.Commands;

/// <summary>
/// Services as desired state through the API: <c>autonomic services list|apply|rm</c>, <c>autonomic scale SERVICE N</c>
/// and <c>autonomic restart SERVICE</c>. The control plane answers at once; the healer carries the change out.
/// </summary>
internal static class ServicesCommand
{
    public static Command Create(ClientRunner runner)
    {
        var command = new Command("services", "List, apply and remove services (their desired state)");
        command.Subcommands.Add(List(runner));
        command.Subcommands.Add(Apply(runner));
        command.Subcommands.Add(Remove(runner));
        return command;
    }

    public static Command CreateScale(ClientRunner runner)
    {
        var service = new Argument<string>("service") { Description = "The service" };
        var replicas = new Argument<int>("replicas") { Description = $"Replicas wanted, 0 to {ServiceSpecValidator.MaxReplicas}" };
        replicas.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 0 or > ServiceSpecValidator.MaxReplicas)
            {
                r.AddError($"replicas must be from 0 to {ServiceSpecValidator.MaxReplicas}");
            }
        });
        var command = new Command("scale", "Set how many replicas of a service run") { service, replicas };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var name = parse.GetValue(service)!;
            var accepted = ApiClient.Parse<ServiceCommandAccepted>(
                await client.PostJsonAsync($"api/v1/services/{Uri.EscapeDataString(name)}/scale", new ScaleBody(parse.GetValue(replicas)), ct));
            await runner.Context.Out.WriteLineAsync($"{accepted.Service}: scaling to {accepted.Replicas} replicas ({accepted.Type} {accepted.EventId})");
            return 0;
        }));
        return command;
    }

    public static Command CreateRestart(ClientRunner runner)
    {
        var service = new Argument<string>("service") { Description = "The service" };
        var command = new Command("restart", "Restart every replica of a service, one at a time") { service };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var name = parse.GetValue(service)!;
            var accepted = ApiClient.Parse<ServiceCommandAccepted>(await client.PostJsonAsync($"api/v1/services/{Uri.EscapeDataString(name)}/restart", new { }, ct));
            await runner.Context.Out.WriteLineAsync($"{accepted.Service}: restart requested ({accepted.Type} {accepted.EventId})");
            return 0;
        }));
        return command;
    }

    private static Command List(ClientRunner runner)
    {
        var json = new Option<bool>("--json") { Description = "Print the API's JSON" };
        var command = new Command("list", "Every service's desired state") { json };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var text = await client.GetTextAsync("api/v1/services", ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            var table = new Table().Border(TableBorder.Simple);
            foreach (var column in new[] { "NAME", "REPLICAS", "PORT", "COMMAND" })
            {
                table.AddColumn(column);
            }

            foreach (var s in JsonSerializer.Deserialize<List<ServiceSpec>>(text, SpecJson.Options) ?? [])
            {
                table.AddRow(Markup.Escape(s.Name), s.Replicas.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    s.Port?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-", Markup.Escape(string.Join(' ', [s.Command, .. s.Args])));
            }

            runner.Context.Console.Write(table);
            return 0;
        }));
        return command;
    }

    private static Command Apply(ClientRunner runner)
    {
        var file = new Option<string>("--file", "-f")
        {
            Description = "A JSON service spec (one object, or an array of them), or a fleet file (.yaml/.yml) whose services are applied",
            Required = true,
        };
        var command = new Command("apply", "Create or update services from a file") { file };
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(file)!;
            List<(string Name, string Json)> specs;
            try
            {
                specs = Read(path);
            }
            catch (Exception e) when (e is FleetFileException or JsonException or IOException or UnauthorizedAccessException or InvalidDataException)
            {
                await runner.Context.Error.WriteLineAsync($"error: {(e is JsonException ? $"{path}: not valid JSON: " : "")}{e.Message}");
                return 2;
            }

            return await runner.RunAsync(parse, async client =>
            {
                foreach (var (name, json) in specs)
                {
                    var path = $"api/v1/services/{Uri.EscapeDataString(name)}";
                    bool exists;
                    try
                    {
                        await client.GetTextAsync(path, ct);
                        exists = true;
                    }
                    catch (ApiProblemException e) when (e.Status == 404)
                    {
                        exists = false;
                    }

                    var accepted = ApiClient.Parse<ServiceCommandAccepted>(exists
                        ? await client.SendJsonTextAsync(HttpMethod.Put, path, json, ct)
                        : await client.SendJsonTextAsync(HttpMethod.Post, "api/v1/services", json, ct));
                    await runner.Context.Out.WriteLineAsync($"{accepted.Service}: {(exists ? "updated" : "created")}, {accepted.Replicas} replicas ({accepted.Type} {accepted.EventId})");
                }

                return 0;
            });
        });
        return command;
    }

    private static Command Remove(ClientRunner runner)
    {
        var name = new Argument<string>("name") { Description = "The service" };
        var command = new Command("rm", "Remove a service; its replicas are stopped") { name };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var accepted = ApiClient.Parse<ServiceCommandAccepted>(await client.DeleteAsync($"api/v1/services/{Uri.EscapeDataString(parse.GetValue(name)!)}", ct));
            await runner.Context.Out.WriteLineAsync($"{accepted.Service}: removal requested ({accepted.Type} {accepted.EventId})");
            return 0;
        }));
        return command;
    }

    /// <summary>The specs of a file as (name, JSON) pairs; the API validates them.</summary>
    private static List<(string Name, string Json)> Read(string path)
    {
        var text = File.ReadAllText(path);
        if (Path.GetExtension(path) is ".yaml" or ".yml")
        {
            var fleet = FleetFile.Parse(text, path, FleetFile.ProcessEnvironment(), AppContext.BaseDirectory);
            return fleet.Services.Select(s => (s.Name, JsonSerializer.Serialize(s, SpecJson.Options))).ToList();
        }

        var node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 32 });
        var items = node switch
        {
            JsonObject o => [o],
            JsonArray a => a.Select(n => n as JsonObject ?? throw new InvalidDataException($"{path}: every element of the array must be a service spec object")).ToList(),
            _ => throw new InvalidDataException($"{path}: expected a service spec object or an array of them"),
        };
        return items.Select(o => (o["name"] is JsonValue v && v.TryGetValue<string>(out var n) ? n : throw new InvalidDataException($"{path}: a service spec needs a name"), o.ToJsonString())).ToList();
    }
}
