using System.Collections.Concurrent;
using System.Text.Json;
using Autonomic.Agents.Tasks;
using Autonomic.Backends.Bus;
using Autonomic.Backends.Runtime;
using Autonomic.Backends.Store;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Tasks;
using Microsoft.Extensions.Logging.Abstractions;

namespace Autonomic.Integration.Tests.Tasks;

/// <summary>
/// Task agents over one bus and one document store, with a real SQLite state store (actions), the real process runtime
/// (jobs) and the stand-ins in TaskStandIns.cs for objects and functions. Agents use short intervals.
/// </summary>
internal sealed class TaskHarness : IAsyncDisposable
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);
    private readonly List<TaskAgent> _agents = [];
    private readonly ConcurrentBag<CloudEvent> _events = [];
    private readonly IAsyncDisposable _recorder;
    private readonly bool _ownsBus;

    private TaskHarness(IEventBus bus, bool ownsBus, IStateStore state, string root)
    {
        Bus = bus;
        _ownsBus = ownsBus;
        State = state;
        Root = root;
        Board = new TaskBoard(Docs, Bus, TimeProvider.System, Options());
        _recorder = Bus.Subscribe("#", "test-recorder-" + Guid.NewGuid().ToString("N")[..8], (e, _) =>
        {
            _events.Add(e);
            return Task.CompletedTask;
        }, new SubscriptionOptions { Transient = true });
    }

    public IEventBus Bus { get; }
    public InMemoryDocumentStore Docs { get; } = new();
    public IStateStore State { get; }
    public ProcessRuntime Runtime { get; } = new(TimeProvider.System);
    public InMemoryObjectStore Objects { get; } = new();
    public InMemoryObjectStore Archive { get; } = new("archive");
    public ScriptedFunctionInvoker Functions { get; } = new();
    public string Root { get; }
    /// <summary>A board for submitting (what the API uses).</summary>
    public TaskBoard Board { get; }

    public IReadOnlyList<CloudEvent> Events => [.. _events];

    public static async Task<TaskHarness> CreateAsync(IEventBus? bus = null)
    {
        var root = Path.Combine(Path.GetTempPath(), "autonomic-tasks-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(root);
        var state = new SqliteStateStore($"sqlite:{Path.Combine(root, "state.db")}");
        await state.MigrateAsync();
        return new TaskHarness(bus ?? new InMemoryBus(TimeProvider.System), bus is null, state, root);
    }

    public TaskAgentOptions Options(Action<TaskAgentOptions>? tweak = null)
    {
        var o = new TaskAgentOptions
        {
            Concurrency = 2,
            SweepInterval = TimeSpan.FromMilliseconds(50),
            HeartbeatInterval = TimeSpan.FromMilliseconds(50),
            // Generous: on a loaded machine a short lease can lapse between heartbeats, and the task would rightly run again.
            LeaseTtl = TimeSpan.FromSeconds(30),
            Retry = new TaskRetryPolicy { BackoffInitial = TimeSpan.FromMilliseconds(200), BackoffMax = TimeSpan.FromSeconds(2), Jitter = 0 },
            Scale = new TaskScalePolicy { DepthThreshold = 1000, AgeThreshold = TimeSpan.FromHours(1) },
            LogDirectory = Path.Combine(Root, "tasks"),
            JobStopGrace = TimeSpan.FromSeconds(1),
            Owner = "agent-" + Guid.NewGuid().ToString("N")[..6],
        };
        tweak?.Invoke(o);
        return o;
    }

    /// <summary>Starts an agent; <paramref name="functions"/> replaces the shared function stand-in (to count per agent).</summary>
    public async Task<TaskAgent> StartAgentAsync(Action<TaskAgentOptions>? tweak = null, ScriptedFunctionInvoker? functions = null, IEventBus? bus = null)
    {
        var options = Options(tweak);
        var targets = new TaskTargets
        {
            ObjectStores = new Dictionary<string, IObjectStore> { [TaskInputs.DefaultStore] = Objects, ["archive"] = Archive },
            Functions = functions ?? Functions,
            Runtime = Runtime,
        };
        var b = bus ?? Bus;
        var agent = new TaskAgent(new TaskBoard(Docs, b, TimeProvider.System, options), new TaskExecutor(targets, TimeProvider.System, options),
            b, State, TimeProvider.System, options, NullLogger<TaskAgent>.Instance);
        _agents.Add(agent);
        await agent.StartAsync(CancellationToken.None);
        await agent.Started.WaitAsync(Deadline);
        return agent;
    }

    public async Task<TaskRecord> SubmitAsync(string type, object input, int? maxAttempts = null, string? key = null) =>
        (await Board.SubmitAsync(new TaskSubmission(type, JsonSerializer.SerializeToElement(input, JsonDefaults.Options), key, maxAttempts, "test"))).Task;

    public async Task<TaskRecord> GetAsync(string id) => (await Board.GetAsync(id))!.Value.Task;

    public async Task<TaskRecord> WaitAsync(string id, Func<TaskRecord, bool> condition, string what, TimeSpan? timeout = null)
    {
        TaskRecord? last = null;
        try
        {
            await Eventually.WaitAsync(async () => condition(last = await GetAsync(id)), timeout ?? Deadline, what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; task is {(last is null ? "missing" : JsonSerializer.Serialize(last, JsonDefaults.Options))}", e);
        }

        return last!;
    }

    /// <summary>Waits until <paramref name="count"/> actions about <paramref name="subject"/> are complete (the outcome is written after the task's).</summary>
    public async Task<IReadOnlyList<AgentAction>> WaitActionsAsync(string subject, int count)
    {
        IReadOnlyList<AgentAction> found = [];
        await Eventually.WaitAsync(async () =>
        {
            found = (await State.ListActionsAsync(1000)).Where(a => a.Subject == subject).ToList();
            return found.Count >= count && found.All(a => a.Status != ActionStatus.Intent);
        }, Deadline, $"{count} completed actions on {subject}");
        return found;
    }

    public Task<TaskRecord> WaitFinishedAsync(string id, TimeSpan? timeout = null) =>
        WaitAsync(id, t => TaskStates.IsFinal(t.Status), "the task to finish", timeout);

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await agent.StopAsync(cts.Token);
            agent.Dispose();
        }

        await _recorder.DisposeAsync();
        if (_ownsBus)
        {
            await Bus.DisposeAsync();
        }

        await Runtime.DisposeAsync();
        await State.DisposeAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
