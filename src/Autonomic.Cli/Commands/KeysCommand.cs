using System.CommandLine;
using Autonomic.Gateway.Auth;
using Spectre.Console;

namespace Autonomic.Cli.Commands;

/// <summary><c>autonomic keys create|list|revoke</c>: API keys, through the API (an admin key is needed).</summary>
internal static class KeysCommand
{
    public static Command Create(ClientRunner runner)
    {
        var command = new Command("keys", "Create, list and revoke API keys (needs an admin key)");
        command.Subcommands.Add(CreateKey(runner));
        command.Subcommands.Add(List(runner));
        command.Subcommands.Add(Revoke(runner));
        return command;
    }

    private static Command CreateKey(ClientRunner runner)
    {
        var name = new Option<string>("--name") { Description = "What the key is for, e.g. ci or alice", Required = true };
        var role = new Option<string>("--role") { Description = "viewer (reads), operator (changes), admin (keys and security)", Required = true };
        role.AcceptOnlyFromAmong([.. ApiRoles.All]);
        var rate = new Option<int?>("--rate") { Description = "Requests per second (0: no limit; default 50)" };
        rate.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 0 or > KeysEndpoints.MaxRate)
            {
                r.AddError($"--rate must be from 0 to {KeysEndpoints.MaxRate}");
            }
        });
        var burst = new Option<int?>("--burst") { Description = "Requests at once when the bucket is full (default twice the rate)" };
        burst.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int?>() is < 1 or > KeysEndpoints.MaxRate)
            {
                r.AddError($"--burst must be from 1 to {KeysEndpoints.MaxRate}");
            }
        });
        var json = new Option<bool>("--json") { Description = "Print the API's JSON" };
        var command = new Command("create", "Create a key; it is printed once, on standard output") { name, role, rate, burst, json };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var text = await client.PostJsonAsync("api/v1/keys", new CreateKeyRequest(parse.GetValue(name), parse.GetValue(role), parse.GetValue(rate), parse.GetValue(burst)), ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            var created = ApiClient.Parse<CreatedApiKey>(text);
            await runner.Context.Out.WriteLineAsync(created.Key);
            await runner.Context.Error.WriteLineAsync(
                $"created key {created.Info.Id} '{created.Info.Name}' ({created.Info.Role}, {Rate(created.Info)}); it is shown only this once");
            return 0;
        }));
        return command;
    }

    private static Command List(ClientRunner runner)
    {
        var json = new Option<bool>("--json") { Description = "Print the API's JSON" };
        var command = new Command("list", "Every key: id, name, role, rate limit, when created and last used, revoked") { json };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var text = await client.GetTextAsync("api/v1/keys", ct);
            if (parse.GetValue(json))
            {
                await runner.Context.Out.WriteLineAsync(text);
                return 0;
            }

            var table = new Table().Border(TableBorder.Simple);
            foreach (var column in new[] { "ID", "NAME", "ROLE", "RATE", "CREATED", "LAST USED", "REVOKED" })
            {
                table.AddColumn(column);
            }

            foreach (var k in ApiClient.Parse<List<ApiKeyView>>(text))
            {
                table.AddRow(Markup.Escape(k.Id), Markup.Escape(k.Name), k.Role, Rate(k), Format.Time(k.CreatedAt), Format.Time(k.LastUsedAt), Format.Time(k.RevokedAt));
            }

            runner.Context.Console.Write(table);
            return 0;
        }));
        return command;
    }

    private static Command Revoke(ClientRunner runner)
    {
        var id = new Argument<string>("id") { Description = "The key's id (the part after ak_, before the next _)" };
        var command = new Command("revoke", "Revoke a key; it stops working at once") { id };
        command.SetAction((parse, ct) => runner.RunAsync(parse, async client =>
        {
            var key = ApiClient.Parse<ApiKeyView>(await client.DeleteAsync($"api/v1/keys/{Uri.EscapeDataString(parse.GetValue(id)!)}", ct));
            await runner.Context.Out.WriteLineAsync($"revoked key {key.Id} '{key.Name}' ({key.Role})");
            return 0;
        }));
        return command;
    }

    private static string Rate(ApiKeyView k) => k.RatePerSecond == 0 ? "no limit" : $"{k.RatePerSecond}/s burst {k.Burst}";
}
