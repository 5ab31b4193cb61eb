using System.Net;
using System.Net.Sockets;
using Autonomic.Agents.Fleet;
using Autonomic.Backends.Fleet;
using Autonomic.Cli.Hosting;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Autonomic.Integration.Tests.ControlPlane;

/// <summary>
/// A real embedded control plane over a temporary directory (SQLite store, logs), supervising real
/// autonomic-workload processes on free loopback ports.
/// </summary>
public sealed class ControlPlaneHarness : IAsyncDisposable
{
    private readonly List<global::Autonomic.Cli.Hosting.ControlPlane> _planes = [];

    public ControlPlaneHarness()
    {
        Root = Directory.CreateTempSubdirectory("autonomic-cp-").FullName;
        ApiPort = TestPorts.Free();
    }

    public string Root { get; }
    public int ApiPort { get; }

    /// <summary>Environment variable set on every instance of this harness, with <see cref="RunId"/> as its value.</summary>
    public const string RunMarker = "AUTONOMIC_TEST_RUN";

    public string RunId { get; } = Guid.NewGuid().ToString("N");

    /// <summary>The admin API key every control plane of this harness starts with.</summary>
    public string AdminKey { get; } = global::Autonomic.Gateway.Auth.ApiKeyFormat.Generate().Key;
    public global::Autonomic.Cli.Hosting.ControlPlane Plane => _planes[^1];
    public InstanceRegistry Registry => Plane.Services.GetRequiredService<InstanceRegistry>();
    public IStateStore Store => Plane.Services.GetRequiredService<IStateStore>();
    public IFaultInjector Chaos => Plane.Services.GetRequiredService<IFaultInjector>();

    /// <summary>The workload executable shipped beside the tests.</summary>
    public static string Workload => Path.Combine(AppContext.BaseDirectory, "autonomic-workload");

    /// <summary>
    /// A fleet file body with the control-plane section pointing into this harness's directory; <paramref name="controlPlaneYaml"/>
    /// adds keys to that section (indented by two spaces).
    /// </summary>
    public FleetSpec Fleet(string servicesYaml, string controlPlaneYaml = "")
    {
        var yaml = $"""
            control_plane:
              api: http://127.0.0.1:{ApiPort}
              store: sqlite:{Root}/state.db
              log_dir: {Root}/logs
            {controlPlaneYaml}
            services:
            {servicesYaml}
            """;
        var fleet = FleetFile.Parse(yaml, "test.yaml", new Dictionary<string, string?>(), AppContext.BaseDirectory);
        // Marks this harness's processes, so a test can tell them from any other run's.
        return fleet with
        {
            Services = fleet.Services.Select(s => s with { Env = new Dictionary<string, string>(s.Env) { [RunMarker] = RunId } }).ToArray(),
        };
    }

    public async Task StartAsync(FleetSpec fleet, bool leaveRunning = false)
    {
        var plane = await global::Autonomic.Cli.Hosting.ControlPlane.CreateAsync(fleet, new ControlPlaneOptions { BootstrapKey = AdminKey, LeaveRunning = leaveRunning, MinimumLevel = LogLevel.Warning, Monitor = new Agents.Monitoring.MonitorOptions { SampleInterval = TimeSpan.FromMilliseconds(200) } });
        _planes.Add(plane);
        await plane.StartAsync();
        await plane.Adopted.WaitAsync(TimeSpan.FromSeconds(20));
    }

    /// <summary>Stops the current control plane (its instances too unless it was started with leaveRunning).</summary>
    public async Task StopPlaneAsync()
    {
        var plane = _planes[^1];
        await plane.StopAsync();
        await plane.DisposeAsync();
        _planes.RemoveAt(_planes.Count - 1);
    }

    public LiveInstance Instance(string id) => Registry.Get(id) ?? throw new InvalidOperationException($"no instance {id}");

    public Task WaitReadyAsync(string id, TimeSpan timeout, int? notPid = null) =>
        Eventually.WaitAsync(() => Registry.Get(id) is { Record.State: InstanceState.Ready, Record.Pid: { } pid } && pid != notPid, timeout, $"{id} ready{(notPid is null ? "" : $" with a pid other than {notPid}")}");

    public Task WaitAllReadyAsync(TimeSpan timeout) =>
        Eventually.WaitAsync(() => Registry.Snapshot() is { Count: > 0 } all && all.All(i => i.Record.State == InstanceState.Ready), timeout, "all instances ready");

    public async ValueTask DisposeAsync()
    {
        while (_planes.Count > 0)
        {
            try
            {
                await StopPlaneAsync();
            }
            catch (Exception)
            {
                _planes.RemoveAt(_planes.Count - 1);
            }
        }

        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
