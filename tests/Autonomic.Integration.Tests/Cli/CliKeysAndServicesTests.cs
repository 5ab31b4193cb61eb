using Autonomic.Cli;
using Autonomic.Cli.Commands;
using Autonomic.Gateway.Auth;
using Autonomic.Integration.Tests.Gateway;

namespace Autonomic.Integration.Tests.Cli;

/// <summary>The CLI's keys, services, scale and restart commands, and its key handling, against a keyed gateway.</summary>
public sealed class CliKeysAndServicesTests(KeyedGateway gw) : IClassFixture<KeyedGateway>, IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("autonomic-cli-keys-").FullName;

    private sealed record Run(int ExitCode, string Out, string Error);

    private async Task<Run> RunAsync(string? key, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var plain = CliContext.ForWriters(output, error);
        // A key file that does not exist, unless a test writes it: the machine's own key never leaks in.
        var context = new CliContext { Console = plain.Console, Out = output, Error = error, KeyFile = Path.Combine(dir, "key") };
        string[] keyArgs = key is null ? [] : ["--api-key", key];
        var code = await CliApp.RunAsync([.. args, "--api", gw.Address.ToString(), .. keyArgs], context);
        return new Run(code, output.ToString(), error.ToString());
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);

    [Fact]
    public async Task Keys_create_list_and_revoke()
    {
        var created = await RunAsync(gw.AdminKey, "keys", "create", "--name", "ci", "--role", "operator", "--rate", "7");
        Assert.Equal(0, created.ExitCode);
        var key = created.Out.Trim();
        Assert.True(ApiKeyFormat.TryParse(key, out var id, out _), key);
        Assert.Contains("shown only this once", created.Error, StringComparison.Ordinal);

        var list = await RunAsync(gw.AdminKey, "keys", "list");
        Assert.Equal(0, list.ExitCode);
        var line = list.Out.Split('\n').Single(l => l.Contains(id, StringComparison.Ordinal));
        Assert.Contains("operator", line, StringComparison.Ordinal);
        Assert.Contains("7/s", line, StringComparison.Ordinal);
        Assert.DoesNotContain(key, list.Out, StringComparison.Ordinal);

        Assert.Equal(0, (await RunAsync(key, "status")).ExitCode);
        var revoked = await RunAsync(gw.AdminKey, "keys", "revoke", id);
        Assert.Equal(0, revoked.ExitCode);
        var refused = await RunAsync(key, "status");
        Assert.Equal(1, refused.ExitCode);
        Assert.StartsWith("error: the API refused the key (401)", refused.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_key_and_a_low_role_are_explained_in_one_line()
    {
        var none = await RunAsync(null, "status");
        Assert.Equal(1, none.ExitCode);
        Assert.Equal("error: the API needs a key (401): pass --api-key, set AUTONOMIC_API_KEY or write it to ~/.config/autonomic/key (mode 600)", none.Error.Trim());

        var viewer = await gw.CreateKeyAsync(ApiRoles.Viewer);
        var low = await RunAsync(viewer.Key, "keys", "list");
        Assert.Equal(1, low.ExitCode);
        Assert.Single(low.Error.Trim().Split('\n'));
        Assert.StartsWith("error: this key may not do that (403)", low.Error, StringComparison.Ordinal);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task The_key_file_is_used_when_private_and_refused_when_others_can_read_it()
    {
        var path = Path.Combine(dir, "key");
        await File.WriteAllTextAsync(path, gw.AdminKey + "\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Assert.Equal(0, (await RunAsync(null, "keys", "list")).ExitCode);

        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);
        var refused = await RunAsync(null, "status");
        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("chmod 600", refused.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Services_apply_scale_restart_and_rm()
    {
        var json = Path.Combine(dir, "api.json");
        await File.WriteAllTextAsync(json, """{"name":"cli-api","command":"/bin/true","replicas":1,"health":{"liveness":{"kind":"tcp","period":"1s"}}}""");
        var created = await RunAsync(gw.AdminKey, "services", "apply", "-f", json);
        Assert.True(created.ExitCode == 0, created.Error);
        Assert.Contains("cli-api: created, 1 replicas", created.Out, StringComparison.Ordinal);
        var updated = await RunAsync(gw.AdminKey, "services", "apply", "-f", json);
        Assert.Contains("cli-api: updated", updated.Out, StringComparison.Ordinal);

        var yaml = Path.Combine(dir, "fleet.yaml");
        await File.WriteAllTextAsync(yaml, "services:\n  cli-worker:\n    command: /bin/true\n    replicas: 2\n");
        var fromYaml = await RunAsync(gw.AdminKey, "services", "apply", "-f", yaml);
        Assert.True(fromYaml.ExitCode == 0, fromYaml.Error);
        Assert.Contains("cli-worker: created, 2 replicas", fromYaml.Out, StringComparison.Ordinal);

        var scaled = await RunAsync(gw.AdminKey, "scale", "cli-worker", "4");
        Assert.Equal(0, scaled.ExitCode);
        Assert.Equal(4, (await gw.Store.ListServicesAsync()).Single(s => s.Name == "cli-worker").Replicas);
        var list = await RunAsync(gw.AdminKey, "services", "list");
        Assert.Contains("cli-worker", list.Out, StringComparison.Ordinal);

        Assert.Equal(2, (await RunAsync(gw.AdminKey, "scale", "cli-worker", "101")).ExitCode);
        Assert.Equal(0, (await RunAsync(gw.AdminKey, "restart", "cli-worker")).ExitCode);
        var removed = await RunAsync(gw.AdminKey, "services", "rm", "cli-worker");
        Assert.Equal(0, removed.ExitCode);
        Assert.Contains("removal requested", removed.Out, StringComparison.Ordinal);

        var unknown = await RunAsync(gw.AdminKey, "restart", "no-such");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("service not found", unknown.Error, StringComparison.Ordinal);

        var bad = Path.Combine(dir, "bad.json");
        await File.WriteAllTextAsync(bad, """{"name":"cli-bad","command":"x","replicas":500}""");
        var invalid = await RunAsync(gw.AdminKey, "services", "apply", "-f", bad);
        Assert.Equal(1, invalid.ExitCode);
        Assert.Contains("replicas", invalid.Error, StringComparison.Ordinal);
        await File.WriteAllTextAsync(bad, "{not json");
        Assert.Equal(2, (await RunAsync(gw.AdminKey, "services", "apply", "-f", bad)).ExitCode);
    }
}
