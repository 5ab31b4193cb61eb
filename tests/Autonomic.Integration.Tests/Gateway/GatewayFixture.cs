using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;
using Autonomic.Gateway;
using Microsoft.Extensions.DependencyInjection;

namespace Autonomic.Integration.Tests.Gateway;

/// <summary>A real gateway on a free loopback port over a seeded store and a temporary log directory.</summary>
public sealed class GatewayFixture : IAsyncLifetime
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private readonly string root = Path.Combine(Path.GetTempPath(), "autonomic-gateway-" + Guid.NewGuid().ToString("N"));
    private GatewayHost? host;

    internal IStateStore Store { get; } = CreateStore();
    internal RecordingFaultInjector Injector { get; } = new();
    internal Autonomic.Backends.Bus.InMemoryBus Bus { get; } = new();
    public string LogDirectory => Path.Combine(root, "logs");
    public string Root => root;
    public Uri Address => host!.Address;
    public HttpClient Http { get; private set; } = null!;

    /// <summary>The one place the gateway tests make a store: a real SQLite store in a fresh temporary file (migrate before use).</summary>
    internal static IStateStore CreateStore() =>
        new Autonomic.Backends.Store.SqliteStateStore($"sqlite:{Path.Combine(Path.GetTempPath(), "autonomic-gateway-" + Guid.NewGuid().ToString("N"), "state.db")}");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(LogDirectory);
        await Store.MigrateAsync();
        await SeedAsync();
        // Authentication is covered by ApiAuthTests; these tests are about the endpoints themselves.
        host = await GatewayHost.StartAsync("http://127.0.0.1:0", new GatewayOptions { LogDirectory = LogDirectory, Auth = AuthModes.None }, services =>
        {
            services.AddSingleton(Store);
            services.AddSingleton<IFaultInjector>(Injector);
            services.AddSingleton<IEventBus>(Bus);
        });
        Http = new HttpClient { BaseAddress = host.Address };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (host is not null)
        {
            await host.DisposeAsync();
        }

        await Store.DisposeAsync();
        await Bus.DisposeAsync();
        Directory.Delete(root, recursive: true);
    }

    private async Task SeedAsync()
    {
        await Store.SaveServiceAsync(new ServiceSpec { Name = "web", Command = "web", Replicas = 2, Port = 9100 });
        await Store.SaveServiceAsync(new ServiceSpec { Name = "worker", Command = "worker" });
        await Store.UpsertInstanceAsync(new InstanceRecord { Id = "web-0", Service = "web", Index = 0, State = InstanceState.Ready, Pid = 1111, Port = 9100, StartedAt = T0, UpdatedAt = T0 });
        await Store.UpsertInstanceAsync(new InstanceRecord { Id = "web-1", Service = "web", Index = 1, State = InstanceState.Backoff, Port = 9101, Restarts = 3, Reason = "exit code 1", UpdatedAt = T0 });
        await Store.UpsertInstanceAsync(new InstanceRecord { Id = "worker-0", Service = "worker", Index = 0, State = InstanceState.Ready, Pid = 2222, StartedAt = T0, UpdatedAt = T0 });

        await Store.UpsertIncidentAsync(new Incident
        {
            Id = "inc-old",
            Service = "worker",
            InstanceId = "worker-0",
            Cause = "hang",
            Status = IncidentStatus.Resolved,
            FailedAt = T0.AddMinutes(-10),
            DetectedAt = T0.AddMinutes(-10).AddMilliseconds(1500),
            MitigatedAt = T0.AddMinutes(-10).AddMilliseconds(2250),
            ResolvedAt = T0.AddMinutes(-9),
            Summary = "worker hung; restarted",
        });
        await Store.UpsertIncidentAsync(new Incident
        {
            Id = "inc-1",
            Service = "web",
            InstanceId = "web-1",
            Cause = "crash_loop",
            Status = IncidentStatus.Escalated,
            NeedsHuman = true,
            FailedAt = T0,
            DetectedAt = T0.AddMilliseconds(120),
            Summary = "web-1 keeps exiting with code 1",
            Evidence = new Dictionary<string, string> { ["exit"] = "exit code 1", ["restarts"] = "3 in 60s" },
            ActionIds = ["act-1"],
        });
        await Store.UpsertActionAsync(new AgentAction
        {
            Id = "act-1",
            Agent = "healer",
            Kind = "escalate",
            Subject = "web-1",
            Reason = "restart budget spent",
            Rule = "lifecycle.budget.escalate",
            Status = ActionStatus.Succeeded,
            IncidentId = "inc-1",
            CreatedAt = T0.AddSeconds(1),
        });
        await Store.UpsertActionAsync(new AgentAction
        {
            Id = "act-0",
            Agent = "healer",
            Kind = "restart",
            Subject = "worker-0",
            Reason = "liveness failed",
            Rule = "liveness.failed.restart",
            Status = ActionStatus.Succeeded,
            IncidentId = "inc-old",
            CreatedAt = T0.AddMinutes(-10),
        });

        await Store.AppendEventAsync(CloudEvent.Create("/runtime", EventTypes.InstanceStarted, "web-0", T0, new { pid = 1111 }));
        await Store.AppendEventAsync(CloudEvent.Create("/runtime", EventTypes.InstanceExited, "web-1", T0.AddSeconds(1), new { exitCode = 1 }));
        await Store.AppendEventAsync(CloudEvent.Create("/probes", EventTypes.ProbeSucceeded, "web-0", T0.AddSeconds(2)));

        await File.WriteAllLinesAsync(Path.Combine(LogDirectory, "web-0.log"), Enumerable.Range(1, 5).Select(i => $"web zero line {i}"));
        await File.WriteAllLinesAsync(Path.Combine(LogDirectory, "web-1.log"), ["web one only line"]);
        // A file beside the log directory that traversal must never reach.
        await File.WriteAllTextAsync(Path.Combine(root, "secret.log"), "TOP SECRET\n");
    }
}
