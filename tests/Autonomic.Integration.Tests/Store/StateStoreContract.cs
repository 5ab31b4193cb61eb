using System.Text.Json;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;

namespace Autonomic.Integration.Tests.Store;

/// <summary>
/// What every <see cref="IStateStore"/> must do. An implementation's test class derives from this one and says
/// how to make a fresh, empty store for one test; the contract migrates it and disposes it.
/// </summary>
public abstract class StateStoreContract : IAsyncLifetime
{
    /// <summary>Whole milliseconds with a non-UTC offset: every store must keep the instant exactly.</summary>
    protected static readonly DateTimeOffset T0 = new(2030, 5, 6, 7, 8, 9, 123, TimeSpan.FromHours(2));

    private IStateStore? _store;

    protected IStateStore Store => _store ?? throw new InvalidOperationException("Not initialised.");

    /// <summary>A fresh store with no data, not yet migrated.</summary>
    protected abstract Task<IStateStore> CreateStoreAsync();

    public virtual async Task InitializeAsync()
    {
        _store = await CreateStoreAsync();
        await _store.MigrateAsync();
    }

    public virtual async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    internal static ServiceSpec FullSpec(string name, int replicas = 3) => new()
    {
        Name = name,
        Command = "/usr/bin/env",
        Args = ["autonomic-workload", "--mode", "web"],
        Env = new Dictionary<string, string> { ["LOG_LEVEL"] = "debug", ["MixedCase_Key"] = "v=1;x" },
        WorkingDirectory = "/srv/app",
        Port = 8100,
        Replicas = replicas,
        Health = new HealthChecks
        {
            Liveness = new ProbeSpec { Kind = ProbeKind.Http, Path = "/live", Period = TimeSpan.FromMilliseconds(250), FailureThreshold = 4 },
            Readiness = new ProbeSpec { Kind = ProbeKind.Tcp, Port = 9000, Timeout = TimeSpan.FromSeconds(1) },
            Startup = new ProbeSpec { Kind = ProbeKind.Exec, Command = ["sh", "-c", "test -f /tmp/ready"], InitialDelay = TimeSpan.FromSeconds(2) },
        },
        Restart = new RestartPolicy { Mode = RestartMode.OnFailure, BackoffInitial = TimeSpan.FromMilliseconds(150), Budget = 7, Jitter = 0.1 },
        Limits = new ResourceLimits { MemoryBytes = 256L * 1024 * 1024, Cpus = 0.5 },
        Trends = new TrendPolicy { LatencyLimit = TimeSpan.FromMilliseconds(300), Window = 40 },
        StopGracePeriod = TimeSpan.FromSeconds(3),
    };

    internal static InstanceRecord FullInstance(string id, DateTimeOffset updatedAt) => new()
    {
        Id = id,
        Service = "web",
        Index = 2,
        State = InstanceState.Unready,
        Pid = 43210,
        StartTicks = 9_876_543_210,
        Port = 8102,
        StartedAt = T0.AddSeconds(-30),
        ReadySince = T0.AddSeconds(-20),
        Restarts = 4,
        Reason = "readiness failed 3 times",
        UpdatedAt = updatedAt,
    };

    internal static Incident FullIncident(string id, DateTimeOffset detectedAt) => new()
    {
        Id = id,
        Service = "web",
        InstanceId = "web-1",
        Cause = "crash",
        Status = IncidentStatus.Mitigated,
        Summary = "web-1 exited with code 137",
        FailedAt = detectedAt.AddMilliseconds(-250),
        DetectedAt = detectedAt,
        MitigatedAt = detectedAt.AddSeconds(2),
        ResolvedAt = null,
        NeedsHuman = true,
        Evidence = new Dictionary<string, string> { ["exitCode"] = "137", ["signal"] = "SIGKILL", ["empty"] = "" },
        ActionIds = ["a-1", "a-2", "a-3"],
    };

    internal static AgentAction FullAction(string id, DateTimeOffset createdAt, string? incidentId = "inc-1") => new()
    {
        Id = id,
        Agent = "healer",
        Kind = "restart",
        Subject = "web-1",
        Reason = "exited with code 137",
        Rule = "lifecycle.exited.restart",
        Evidence = new Dictionary<string, string> { ["exitCode"] = "137", ["restarts"] = "2" },
        Status = ActionStatus.Succeeded,
        Outcome = "started pid 4242",
        IncidentId = incidentId,
        CreatedAt = createdAt,
        CompletedAt = createdAt.AddMilliseconds(812),
    };

    private static CloudEvent Event(string id, DateTimeOffset time, string? subject = "web-0", object? data = null) => new()
    {
        Id = id,
        Source = "/agents/monitor",
        Type = EventTypes.ProbeFailed,
        Time = time,
        Subject = subject,
        Data = data is null ? null : JsonSerializer.SerializeToElement(data, JsonDefaults.Options),
    };

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, JsonDefaults.Options);

    [Fact]
    public async Task Migrating_again_is_harmless_and_keeps_data()
    {
        await Store.SaveServiceAsync(FullSpec("web"));
        await Store.MigrateAsync();
        Assert.Single(await Store.ListServicesAsync());
    }

    [Fact]
    public async Task A_service_spec_round_trips_with_every_field()
    {
        var spec = FullSpec("web");
        await Store.SaveServiceAsync(spec);

        var back = Assert.Single(await Store.ListServicesAsync());
        Assert.Equal(Json(spec), Json(back));
        Assert.Equal(["autonomic-workload", "--mode", "web"], back.Args);
        Assert.Equal("v=1;x", back.Env["MixedCase_Key"]);
        Assert.Equal(["sh", "-c", "test -f /tmp/ready"], back.Health.Startup!.Command);
        Assert.Equal(ProbeKind.Tcp, back.Health.Readiness!.Kind);
        Assert.Equal(TimeSpan.FromMilliseconds(150), back.Restart.BackoffInitial);
        Assert.Equal(RestartMode.OnFailure, back.Restart.Mode);
        Assert.Equal(256L * 1024 * 1024, back.Limits.MemoryBytes);
        Assert.Equal(TimeSpan.FromMilliseconds(300), back.Trends.LatencyLimit);
        Assert.Equal(TimeSpan.FromSeconds(3), back.StopGracePeriod);
    }

    [Fact]
    public async Task Saving_a_spec_again_replaces_it()
    {
        await Store.SaveServiceAsync(FullSpec("web", replicas: 3));
        await Store.SaveServiceAsync(FullSpec("api", replicas: 1));
        await Store.SaveServiceAsync(FullSpec("web", replicas: 5) with { Env = new Dictionary<string, string>() });

        var all = await Store.ListServicesAsync();
        Assert.Equal(2, all.Count);
        var web = Assert.Single(all, s => s.Name == "web");
        Assert.Equal(5, web.Replicas);
        Assert.Empty(web.Env);
    }

    [Fact]
    public async Task An_instance_round_trips_replaces_and_deletes()
    {
        var full = FullInstance("web-2", T0);
        var bare = new InstanceRecord { Id = "web-3", Service = "web", Index = 3, State = InstanceState.Pending, UpdatedAt = T0 };
        await Store.UpsertInstanceAsync(full);
        await Store.UpsertInstanceAsync(bare);

        var all = await Store.ListInstancesAsync();
        Assert.Equal(2, all.Count);
        Assert.Equal(full, Assert.Single(all, i => i.Id == "web-2"));
        Assert.Equal(bare, Assert.Single(all, i => i.Id == "web-3"));

        var changed = full with { State = InstanceState.Ready, Pid = null, Restarts = 5, Reason = null, UpdatedAt = T0.AddSeconds(1) };
        await Store.UpsertInstanceAsync(changed);
        all = await Store.ListInstancesAsync();
        Assert.Equal(2, all.Count);
        Assert.Equal(changed, Assert.Single(all, i => i.Id == "web-2"));

        await Store.DeleteInstanceAsync("web-2");
        await Store.DeleteInstanceAsync("no-such-instance");
        Assert.Equal("web-3", Assert.Single(await Store.ListInstancesAsync()).Id);
    }

    [Fact]
    public async Task A_write_fenced_by_an_older_lease_token_is_refused_and_changes_nothing()
    {
        var held = FullInstance("web-4", T0) with { Fence = 5, Restarts = 1 };
        Assert.True(await Store.UpsertInstanceAsync(held));

        // A healer that lost the lease (token 4) cannot overwrite or delete what the holder (token 5) wrote.
        Assert.False(await Store.UpsertInstanceAsync(held with { Fence = 4, Restarts = 99, State = InstanceState.Stopped }));
        Assert.False(await Store.DeleteInstanceAsync("web-4", fence: 4));
        Assert.Equal(held, Assert.Single(await Store.ListInstancesAsync()));

        // The holder itself and a newer one may; a delete without a fence is unconditional.
        Assert.True(await Store.UpsertInstanceAsync(held with { Restarts = 2 }));
        Assert.True(await Store.UpsertInstanceAsync(held with { Fence = 9, Restarts = 3 }));
        Assert.Equal((9L, 3), Assert.Single(await Store.ListInstancesAsync()) is var r ? (r.Fence, r.Restarts) : default);
        Assert.False(await Store.DeleteInstanceAsync("web-4", fence: 5));
        Assert.True(await Store.DeleteInstanceAsync("web-4", fence: 9));
        Assert.True(await Store.DeleteInstanceAsync("web-4", fence: 1));
        Assert.True(await Store.UpsertInstanceAsync(held));
        Assert.True(await Store.DeleteInstanceAsync("web-4"));
        Assert.Empty(await Store.ListInstancesAsync());
    }

    [Fact]
    public async Task Racing_writers_with_different_fences_leave_the_highest_ones_record()
    {
        // 24 writers, each several times, fences 1..24 in a shuffled order: whatever the interleaving, the record that
        // stays is the one of fence 24, and every write of a fence below the stored one was refused.
        var fences = Enumerable.Range(1, 24).OrderBy(i => (i * 7919) % 24).ToArray();
        var results = await Task.WhenAll(fences.Select(f => Task.Run(async () =>
        {
            var outcomes = new List<bool>();
            for (int i = 0; i < 3; i++)
            {
                outcomes.Add(await Store.UpsertInstanceAsync(FullInstance("race-0", T0) with { Fence = f, Restarts = f }));
            }

            return (Fence: f, Outcomes: outcomes);
        })));

        var stored = Assert.Single(await Store.ListInstancesAsync());
        Assert.Equal((24L, 24), (stored.Fence, stored.Restarts));
        Assert.All(results.Single(r => r.Fence == 24).Outcomes, Assert.True);
    }

    [Fact]
    public async Task Timestamps_keep_the_instant_to_the_millisecond()
    {
        var fine = new DateTimeOffset(2031, 1, 1, 0, 0, 0, TimeSpan.FromHours(-7)).AddTicks(1_234_567);
        await Store.UpsertInstanceAsync(FullInstance("web-0", fine));

        var back = Assert.Single(await Store.ListInstancesAsync()).UpdatedAt;
        Assert.InRange((back - fine).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(1) - TimeSpan.FromTicks(1));
    }

    [Fact]
    public async Task An_event_round_trips_with_its_data()
    {
        var withData = Event("e1", T0, data: new { exitCode = 137, reasons = new[] { "oom", "kill" }, nested = new { ok = false } });
        var without = Event("e2", T0.AddMilliseconds(1), subject: null);
        await Store.AppendEventAsync(withData);
        await Store.AppendEventAsync(without);

        var all = await Store.ListEventsAsync(10);
        Assert.Equal(["e1", "e2"], all.Select(e => e.Id));
        var back = all[0];
        Assert.Equal(withData.Source, back.Source);
        Assert.Equal(withData.Type, back.Type);
        Assert.Equal(withData.Time, back.Time);
        Assert.Equal(withData.Subject, back.Subject);
        Assert.True(JsonElement.DeepEquals(withData.Data!.Value, back.Data!.Value), back.Data.Value.GetRawText());
        Assert.Null(all[1].Subject);
        Assert.Null(all[1].Data);
    }

    [Fact]
    public async Task An_event_whose_id_is_stored_is_ignored()
    {
        await Store.AppendEventAsync(Event("same", T0, data: new { first = true }));
        await Store.AppendEventAsync(Event("same", T0.AddSeconds(5), subject: "other", data: new { first = false }));

        var back = Assert.Single(await Store.ListEventsAsync(10));
        Assert.Equal(T0, back.Time);
        Assert.True(back.Data!.Value.GetProperty("first").GetBoolean());
    }

    [Fact]
    public async Task Events_list_the_newest_oldest_first_optionally_by_subject()
    {
        // Appended out of time order: the listing follows event time, not arrival.
        for (var i = 9; i >= 0; i--)
        {
            await Store.AppendEventAsync(Event($"e{i}", T0.AddSeconds(i), subject: i % 2 == 0 ? "web-0" : "web-1"));
        }

        Assert.Equal(["e7", "e8", "e9"], (await Store.ListEventsAsync(3)).Select(e => e.Id));
        Assert.Equal(["e4", "e6", "e8"], (await Store.ListEventsAsync(3, "web-0")).Select(e => e.Id));
        Assert.Equal(10, (await Store.ListEventsAsync(100)).Count);
        Assert.Empty(await Store.ListEventsAsync(0));
        Assert.Empty(await Store.ListEventsAsync(5, "nobody"));
    }

    [Fact]
    public async Task An_incident_round_trips_and_is_found_by_id()
    {
        var incident = FullIncident("inc-1", T0);
        await Store.UpsertIncidentAsync(incident);

        var back = await Store.GetIncidentAsync("inc-1");
        Assert.NotNull(back);
        AssertSameIncident(incident, back);
        AssertSameIncident(incident, Assert.Single(await Store.ListIncidentsAsync(10)));
        Assert.Null(await Store.GetIncidentAsync("inc-404"));
    }

    [Fact]
    public async Task Upserting_an_incident_replaces_it()
    {
        await Store.UpsertIncidentAsync(FullIncident("inc-1", T0));
        var resolved = FullIncident("inc-1", T0) with
        {
            Status = IncidentStatus.Resolved,
            ResolvedAt = T0.AddSeconds(12),
            NeedsHuman = false,
            Evidence = new Dictionary<string, string> { ["stableFor"] = "10s" },
            ActionIds = [],
        };
        await Store.UpsertIncidentAsync(resolved);

        AssertSameIncident(resolved, Assert.Single(await Store.ListIncidentsAsync(10)));
    }

    [Fact]
    public async Task Incidents_list_newest_first_up_to_the_limit()
    {
        foreach (var i in new[] { 3, 0, 4, 1, 2 })
        {
            await Store.UpsertIncidentAsync(FullIncident($"inc-{i}", T0.AddMinutes(i)));
        }

        Assert.Equal(["inc-4", "inc-3", "inc-2"], (await Store.ListIncidentsAsync(3)).Select(i => i.Id));
        Assert.Equal(5, (await Store.ListIncidentsAsync(50)).Count);
    }

    [Fact]
    public async Task An_action_round_trips_and_replaces()
    {
        var intent = FullAction("a-1", T0) with { Status = ActionStatus.Intent, Outcome = null, CompletedAt = null };
        await Store.UpsertActionAsync(intent);
        AssertSameAction(intent, Assert.Single(await Store.ListActionsAsync(10)));

        var done = FullAction("a-1", T0);
        await Store.UpsertActionAsync(done);
        AssertSameAction(done, Assert.Single(await Store.ListActionsAsync(10)));
    }

    [Fact]
    public async Task Actions_list_newest_first_optionally_by_incident()
    {
        for (var i = 0; i < 6; i++)
        {
            await Store.UpsertActionAsync(FullAction($"a-{i}", T0.AddSeconds(i), incidentId: i switch { < 3 => "inc-a", < 5 => "inc-b", _ => null }));
        }

        Assert.Equal(["a-5", "a-4", "a-3"], (await Store.ListActionsAsync(3)).Select(a => a.Id));
        Assert.Equal(["a-2", "a-1", "a-0"], (await Store.ListActionsAsync(10, "inc-a")).Select(a => a.Id));
        Assert.Equal(["a-4"], (await Store.ListActionsAsync(1, "inc-b")).Select(a => a.Id));
        Assert.Empty(await Store.ListActionsAsync(10, "inc-none"));
    }

    [Fact]
    public async Task Concurrent_writers_all_land()
    {
        var writes = Enumerable.Range(0, 20).Select(i => Task.Run(async () =>
        {
            await Store.UpsertInstanceAsync(FullInstance($"web-{i}", T0.AddMilliseconds(i)));
            await Store.AppendEventAsync(Event($"e{i}", T0.AddMilliseconds(i)));
            await Store.UpsertActionAsync(FullAction($"a-{i}", T0.AddMilliseconds(i)));
        }));
        await Task.WhenAll(writes);

        Assert.Equal(20, (await Store.ListInstancesAsync()).Count);
        Assert.Equal(20, (await Store.ListEventsAsync(100)).Count);
        Assert.Equal(20, (await Store.ListActionsAsync(100)).Count);
    }

    [Fact]
    public async Task Concurrent_upserts_of_one_key_leave_one_row()
    {
        var writes = Enumerable.Range(0, 20).Select(i => Task.Run(() =>
            Store.UpsertIncidentAsync(FullIncident("inc-race", T0) with { Summary = $"writer {i}" })));
        var appends = Enumerable.Range(0, 20).Select(_ => Task.Run(() => Store.AppendEventAsync(Event("dup", T0))));
        await Task.WhenAll(writes.Concat(appends));

        var incident = Assert.Single(await Store.ListIncidentsAsync(10));
        Assert.StartsWith("writer ", incident.Summary, StringComparison.Ordinal);
        Assert.Single(await Store.ListEventsAsync(10));
    }

    protected static void AssertSameIncident(Incident expected, Incident actual)
    {
        Assert.Equal(expected with { Evidence = actual.Evidence, ActionIds = actual.ActionIds }, actual);
        Assert.Equal(expected.Evidence.OrderBy(kv => kv.Key), actual.Evidence.OrderBy(kv => kv.Key));
        Assert.Equal(expected.ActionIds, actual.ActionIds);
    }

    protected static void AssertSameAction(AgentAction expected, AgentAction actual)
    {
        Assert.Equal(expected with { Evidence = actual.Evidence }, actual);
        Assert.Equal(expected.Evidence.OrderBy(kv => kv.Key), actual.Evidence.OrderBy(kv => kv.Key));
    }
}
