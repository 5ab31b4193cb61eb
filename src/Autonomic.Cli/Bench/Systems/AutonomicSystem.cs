using System.Globalization;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Autonomic.Cli.Bench.Systems;

/// <summary>
/// Autonomic's own control plane, run as a separate <c>autonomic up</c> process on a generated fleet file,
/// with a private SQLite store, log directory and API port. The service pid comes from its API.
/// </summary>
internal sealed class AutonomicSystem(ServiceSetup setup, int apiPort, bool socketActivation = true) : SupervisedSystem(setup)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };
    // The control plane under test starts with this admin key, and the benchmark reads its API with it.
    private readonly string _key = Gateway.Auth.ApiKeyFormat.Generate().Key;

    private string Api => $"http://127.0.0.1:{apiPort.ToString(CultureInfo.InvariantCulture)}";

    public override string Name => "autonomic";

    public override bool DetectsHang => true;

    public override async Task StartAsync(CancellationToken ct)
    {
        var d = Setup.Dir;
        var fleet = Path.Combine(d, "fleet.yaml");
        await File.WriteAllTextAsync(fleet, FleetYaml(Setup.Command, Setup.Port, Setup.HealthPath, socketActivation), ct);
        var (file, prefix) = SelfCommand();
        var env = new Dictionary<string, string>
        {
            ["AUTONOMIC_STORE"] = $"sqlite:{Path.Combine(d, "state.db")}",
            ["AUTONOMIC_LOG_DIR"] = Path.Combine(d, "logs"),
            ["AUTONOMIC_API"] = Api,
            ["AUTONOMIC_BOOTSTRAP_KEY"] = _key,
        };
        _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _key);
        Daemon = ChildProcess.Start(file, [.. prefix, "up", "-f", fleet], d, env);
        var up = await Poll.UntilAsync(
            async () => Daemon.HasExited || await ApiHealthyAsync(ct),
            TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100), Setup.Time, ct);
        if (!up || Daemon.HasExited)
        {
            throw new InvalidOperationException($"autonomic up did not serve {Api}/healthz:\n{Daemon.Tail}");
        }
    }

    public override async Task<int?> GetPidAsync(CancellationToken ct)
    {
        try
        {
            var instances = await _http.GetFromJsonAsync<List<InstanceView>>($"{Api}/api/v1/instances", Json, ct);
            return instances?.FirstOrDefault(i => i.Service == "bench" && i.State == "ready")?.Pid;
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (JsonException)
        {
            return null;
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return null;
        }
    }

    protected override async Task StopGracefullyAsync()
    {
        var pid = await GetPidAsync(CancellationToken.None);
        Daemon!.Signal(Posix.SigTerm);
        await Daemon.WaitForExitAsync(TimeSpan.FromSeconds(15));
        if (pid is { } p && Posix.IsAlive(p))
        {
            Posix.Signal(p, Posix.SigKill);
        }
    }

    protected override void ReleaseResources() => _http.Dispose();

    /// <summary>The fleet file for one replica of the service, with fast liveness probing and restarts.</summary>
    public static string FleetYaml(ServiceCommand command, int port, string healthPath, bool socketActivation = true)
    {
        var p = port.ToString(CultureInfo.InvariantCulture);
        var args = new StringBuilder();
        foreach (var a in command.Args)
        {
            args.Append(args.Length == 0 ? "" : ", ").Append(JsonSerializer.Serialize(a));
        }

        return $"""
            services:
              bench:
                command: {JsonSerializer.Serialize(command.Executable)}
                args: [{args}]
                port: {p}
                replicas: 1
                socket_activation: {(socketActivation ? "true" : "false")}
                health:
                  liveness: {"{"}http: {healthPath}, period: 500ms, timeout: 250ms, failure_threshold: 3{"}"}
                restart: {"{"}mode: always, backoff_initial: 200ms, backoff_max: 5s, reset_after: 2s, budget: 1000, budget_window: 60s{"}"}

            """;
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

    private async Task<bool> ApiHealthyAsync(CancellationToken ct)
    {
        try
        {
            using var response = await _http.GetAsync($"{Api}/healthz", ct);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    private sealed record InstanceView(
        [property: JsonPropertyName("id")] string? Id,
        [property: JsonPropertyName("service")] string? Service,
        [property: JsonPropertyName("state")] string? State,
        [property: JsonPropertyName("pid")] int? Pid,
        [property: JsonPropertyName("port")] int? Port);
}
