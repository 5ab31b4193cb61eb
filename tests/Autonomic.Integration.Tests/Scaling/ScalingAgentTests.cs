using System.Net.Http.Json;
using System.Text.Json;
using Autonomic.Agents.Fleet;
using Autonomic.Agents.Monitoring;
using Autonomic.Agents.Optimization;
using Autonomic.Agents.Scaling;
using Autonomic.Backends.Bus;
using Autonomic.Backends.Leases;
using Autonomic.Backends.Store;
using Autonomic.Cli;
using Autonomic.Cli.Commands;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Scaling;
using Autonomic.Core.Specs;
using Autonomic.Gateway;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Autonomic.Integration.Tests.Scaling;

/// <summary>
/// The scaling and optimization agents on the real in-memory bus and a real SQLite store: traffic and metric samples
/// in, service commands, actions and API answers out.
/// </summary>
public sealed class ScalingAgentTests : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "autonomic-scaling-" + Guid.NewGuid().ToString("N"));
    private readonly InMemoryBus _bus = new();
    private IStateStore _store = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _store = new SqliteStateStore($"sqlite:{Path.Combine(_dir, "state.db")}");
        await _store.MigrateAsync();
    }

    public async Task DisposeAsync()
    {
        await _bus.DisposeAsync();
        await _store.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private static ServiceSpec Web(ScalingSpec? scaling, int replicas = 2, ResourceLimits? limits = null) => new()
    {
        Name = "web",
        Command = "/bin/true",
        Replicas = replicas,
        Scaling = scaling,
        Limits = limits ?? new(),
    };

    private (Task<CloudEvent> First, IAsyncDisposable Subscription) FirstOf(string type, Func<CloudEvent, bool>? match = null)
    {
        var tcs = new TaskCompletionSource<CloudEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sub = _bus.Subscribe(type, "test-" + type, (e, _) =>
        {
            if (match?.Invoke(e) ?? true)
            {
                tcs.TrySetResult(e);
            }

            return Task.CompletedTask;
        });
        return (tcs.Task.WaitAsync(TimeSpan.FromSeconds(10)), sub);
    }

    private Task PublishTrafficAsync(double rps, int ready, DateTimeOffset at) =>
        _bus.PublishAsync(CloudEvent.Create("/lb", EventTypes.TrafficSample, "web", at, new TrafficSample("web", at, rps, 4, 9, 0, rps > 0 ? 3 : 0, ready))).AsTask();

    [Fact]
    public async Task A_traffic_burst_becomes_a_scale_command_an_action_and_a_decision()
    {
        var fleet = new FleetSpec
        {
            Services = [Web(new ScalingSpec { Policy = ScalingPolicyKind.Hpa, Min = 1, Max = 10, TargetRequestsPerReplica = 10, Interval = TimeSpan.FromMilliseconds(100) })],
        };
        var agent = new ScalingAgent(_bus, _store, fleet, new InstanceRegistry(), TimeProvider.System,
            new ScalingAgentOptions { Tick = TimeSpan.FromMilliseconds(50) }, NullLogger<ScalingAgent>.Instance, new InProcessLeaseManager());
        var (scale, s1) = FirstOf(EventTypes.ServiceScale, e => e.Source == "/agents/scaler");
        var (decided, s2) = FirstOf(EventTypes.ScaleDecided);
        await using var _1 = s1;
        await using var _2 = s2;
        await agent.StartAsync(CancellationToken.None);
        try
        {
            // A burst: 100 req/s on 2 replicas of a 10 req/s target wants 10; the default scale-up policy allows
            // max(2 + 4, 2 × 2) = 6 in the first 15 s.
            for (int i = 0; i < 5; i++)
            {
                await PublishTrafficAsync(100, 2, TimeProvider.System.GetUtcNow());
            }

            var command = (await scale).Data!.Value.Deserialize<ServiceCommand>(JsonDefaults.Options)!;
            Assert.Equal(("web", 6, "scaler"), (command.Service, command.Replicas, command.RequestedBy));
            Assert.Contains("100 req/s", command.Reason, StringComparison.Ordinal);

            var decision = (await decided).Data!.Value.Deserialize<ScalingDecision>(JsonDefaults.Options)!;
            Assert.Equal((2, 6, "hpa"), (decision.From, decision.To, decision.Policy));
            Assert.Equal("10", decision.Inputs["raw_desired"]);

            var action = await Eventually.WaitAsync(async () =>
                (await _store.ListActionsAsync(50)).FirstOrDefault(a => a.Agent == "scaler" && a.Status == ActionStatus.Succeeded), TimeSpan.FromSeconds(10), "the scaler's action");
            Assert.Equal(("scale_up", "web", "scaling.hpa"), (action.Kind, action.Subject, action.Rule));
            Assert.Equal("100", action.Evidence["requests_per_second"]);
            Assert.StartsWith("2 -> 6 replicas:", action.Reason, StringComparison.Ordinal);

            // The API shows the last decision with its reason, from the agent of this process.
            await using var gateway = await GatewayHost.StartAsync("http://127.0.0.1:0", new GatewayOptions { Auth = global::Autonomic.Gateway.AuthModes.None, LogDirectory = _dir }, services =>
            {
                services.AddSingleton(_store);
                services.AddSingleton<IFaultInjector>(new Gateway.RecordingFaultInjector());
                services.AddSingleton(agent);
            });
            using var http = new HttpClient { BaseAddress = gateway.Address };
            var view = await http.GetFromJsonAsync<JsonElement>("/api/v1/scaling");
            var web = view.EnumerateArray().Single(e => e.GetProperty("service").GetString() == "web");
            Assert.Equal("hpa", web.GetProperty("policy").GetString());
            Assert.False(string.IsNullOrEmpty(web.GetProperty("reason").GetString()));
        }
        finally
        {
            await agent.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_scale_request_activates_a_queue_service_from_zero()
    {
        var jobs = new ServiceSpec
        {
            Name = "jobs",
            Command = "/bin/true",
            Replicas = 0,
            Scaling = new ScalingSpec { Policy = ScalingPolicyKind.Queue, Min = 0, Max = 5, TargetQueuePerReplica = 5, Interval = TimeSpan.FromHours(1) },
        };
        var bad = new ServiceSpec { Name = "bad", Command = "/bin/true", Scaling = new ScalingSpec { Policy = ScalingPolicyKind.Predictive } };
        // The interval is an hour: only the request's wake-up can make this decision within the test.
        var agent = new ScalingAgent(_bus, _store, new FleetSpec { Services = [jobs, bad] }, new InstanceRegistry(), TimeProvider.System,
            new ScalingAgentOptions { Tick = TimeSpan.FromMilliseconds(50) }, NullLogger<ScalingAgent>.Instance);
        var (scale, s1) = FirstOf(EventTypes.ServiceScale, e => e.Source == "/agents/scaler");
        await using var _1 = s1;
        await agent.StartAsync(CancellationToken.None);
        try
        {
            // The first decision (at start) sees no queue length and keeps 0.
            await Eventually.WaitAsync(() => agent.LastDecisions().Any(d => d.Service == "jobs"), TimeSpan.FromSeconds(10), "the first decision");
            await _bus.PublishAsync(CloudEvent.Create("/agents/tasks", EventTypes.ScaleRequested, "jobs", TimeProvider.System.GetUtcNow(),
                new ScaleRequest("jobs", "7 tasks queued", QueueDepth: 7, OldestAgeSeconds: 1)));
            var command = (await scale).Data!.Value.Deserialize<ServiceCommand>(JsonDefaults.Options)!;
            Assert.Equal(("jobs", 2), (command.Service, command.Replicas));
            Assert.Contains("activated by 7 messages", command.Reason, StringComparison.Ordinal);
            Assert.DoesNotContain(agent.LastDecisions(), d => d.Service == "bad");
        }
        finally
        {
            await agent.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task Stored_scaling_actions_answer_the_api_without_an_agent_in_process()
    {
        var now = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await _store.UpsertActionAsync(new AgentAction
        {
            Id = "act-1",
            Agent = "scaler",
            Kind = "scale_up",
            Subject = "web",
            Reason = "2 -> 5 replicas: 50 req/s vs 10 per replica",
            Rule = "scaling.hpa",
            Evidence = new Dictionary<string, string> { ["current_replicas"] = "2" },
            Status = ActionStatus.Succeeded,
            CreatedAt = now,
        });
        await using var gateway = await GatewayHost.StartAsync("http://127.0.0.1:0", new GatewayOptions { Auth = global::Autonomic.Gateway.AuthModes.None, LogDirectory = _dir }, services =>
        {
            services.AddSingleton(_store);
            services.AddSingleton<IFaultInjector>(new Gateway.RecordingFaultInjector());
        });
        using var http = new HttpClient { BaseAddress = gateway.Address };
        var web = (await http.GetFromJsonAsync<JsonElement>("/api/v1/scaling")).EnumerateArray().Single();
        Assert.Equal((2, 5, "hpa"), (web.GetProperty("from").GetInt32(), web.GetProperty("to").GetInt32(), web.GetProperty("policy").GetString()));
        using var cost = await http.GetAsync("/api/v1/cost");
        Assert.Equal(System.Net.HttpStatusCode.NotFound, cost.StatusCode);
    }

    [Fact]
    public async Task The_optimizer_prices_usage_right_sizes_limits_and_scales_an_idle_service_down()
    {
        // A fake clock drives the idle timer (the pass interval is an hour, so only the test runs passes); the bus and
        // the store are real.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var fleet = new FleetSpec
        {
            Settings = new ControlPlaneSettings { Cost = new CostSettings { AutoApply = true, IdleAfter = TimeSpan.FromMinutes(1), PerReplicaHour = 0.5 } },
            Services = [Web(null, replicas: 3, new ResourceLimits { Cpus = 1.0, MemoryBytes = 512L * 1024 * 1024 })],
        };
        var optimizer = new OptimizerAgent(_bus, _store, fleet, new InstanceRegistry(), time, new OptimizerOptions { MinSamples = 10, Interval = TimeSpan.FromHours(1) }, NullLogger<OptimizerAgent>.Instance);
        var (apply, s1) = FirstOf(EventTypes.ServiceApply);
        var (scale, s2) = FirstOf(EventTypes.ServiceScale);
        await using var _1 = s1;
        await using var _2 = s2;
        await optimizer.StartAsync(CancellationToken.None);
        try
        {
            for (int i = 0; i < 12; i++)
            {
                await _bus.PublishAsync(CloudEvent.Create("/agents/monitor", EventTypes.MetricSample, $"web-{i % 3}", time.GetUtcNow(),
                    new MetricSampleData { InstanceId = $"web-{i % 3}", Pid = 100 + (i % 3), CpuCores = 0.05, RssBytes = 20L * 1024 * 1024 }));
            }

            await PublishTrafficAsync(0, 3, time.GetUtcNow());
            var before = await Eventually.WaitAsync(async () =>
            {
                var r = await optimizer.RunOnceAsync(CancellationToken.None);
                return r.Services.Single().Recommendations.Count == 2 && r.Services.Single().RequestsPerSecond is not null ? r : null;
            }, TimeSpan.FromSeconds(10), "a report over every sample");
            var web = before.Services.Single();
            Assert.Equal(0.05, web.CpuCoresP95);
            Assert.Equal(1.5, web.ReplicaPerHour, 6);
            Assert.Contains(web.Recommendations, r => r.Kind == "cpu" && r.Suggested == "0.1" && r.Applied);
            Assert.Contains(web.Recommendations, r => r.Kind == "memory" && r.Suggested == "32Mi" && r.Applied);
            var applied = (await apply).Data!.Value.Deserialize<ServiceSpec>(JsonDefaults.Options)!;
            Assert.True(applied.Limits.Cpus == 0.1 || applied.Limits.MemoryBytes == 32L * 1024 * 1024);

            time.Advance(TimeSpan.FromMinutes(2));
            var idle = (await optimizer.RunOnceAsync(CancellationToken.None)).Services.Single().Recommendations.Single(r => r.Kind == "idle");
            Assert.True(idle.Applied);
            var command = (await scale).Data!.Value.Deserialize<ServiceCommand>(JsonDefaults.Options)!;
            Assert.Equal(("web", 1, "optimizer"), (command.Service, command.Replicas, command.RequestedBy));
            var actions = await _store.ListActionsAsync(50);
            Assert.Equal(3, actions.Count(a => a.Agent == "optimizer" && a.Status == ActionStatus.Succeeded));

            // The cost command renders the report.
            using var output = new StringWriter();
            using var error = new StringWriter();
            await using var gateway = await GatewayHost.StartAsync("http://127.0.0.1:0", new GatewayOptions { Auth = global::Autonomic.Gateway.AuthModes.None, LogDirectory = _dir }, services =>
            {
                services.AddSingleton(_store);
                services.AddSingleton<IFaultInjector>(new Gateway.RecordingFaultInjector());
                services.AddSingleton(optimizer);
            });
            int code = await CliApp.RunAsync(["cost", "--api", gateway.Address.ToString()], CliContext.ForWriters(output, error));
            Assert.Equal(0, code);
            Assert.Contains("web", output.ToString(), StringComparison.Ordinal);
            Assert.Contains("no traffic for 2 min", output.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            await optimizer.StopAsync(CancellationToken.None);
        }
    }
}
