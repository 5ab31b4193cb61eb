using System.Security.Cryptography;
using System.Text.Json;
using Autonomic.Agents.Tasks;
using Autonomic.Core.Model;
using Autonomic.Core.Tasks;
using Autonomic.Integration.Tests.Runtime;

namespace Autonomic.Integration.Tests.Tasks;

/// <summary>The task agent end to end on the in-memory bus: every type, retries, dead letters, idempotency, cancellation, sharing, scale requests.</summary>
public sealed class TaskAgentTests : IAsyncLifetime
{
    private TaskHarness _h = null!;

    public async Task InitializeAsync() => _h = await TaskHarness.CreateAsync();

    public async Task DisposeAsync() => await _h.DisposeAsync();

    [Fact]
    public async Task Copy_within_a_store_and_between_stores_succeeds()
    {
        await _h.Objects.PutAsync("in/a.txt", new MemoryStream("hello"u8.ToArray()), "text/plain");
        await _h.StartAgentAsync();

        var within = await _h.SubmitAsync(TaskTypes.ObjectCopy, new { fromKey = "in/a.txt", toKey = "out/b.txt" });
        var across = await _h.SubmitAsync(TaskTypes.ObjectCopy, new { fromKey = "in/a.txt", toStore = "archive", toKey = "kept/a.txt" });

        Assert.Equal(TaskState.Succeeded, (await _h.WaitFinishedAsync(within.Id)).Status);
        var done = await _h.WaitFinishedAsync(across.Id);
        Assert.Equal(TaskState.Succeeded, done.Status);
        Assert.Equal("hello"u8.ToArray(), _h.Objects.Bytes("out/b.txt"));
        Assert.Equal("hello"u8.ToArray(), _h.Archive.Bytes("kept/a.txt"));
        Assert.Equal("archive", done.Result!.Value.GetProperty("store").GetString());
        Assert.Equal(1, done.Attempts);
    }

    [Fact]
    public async Task Copy_of_a_missing_object_fails_permanently_without_retrying()
    {
        await _h.StartAgentAsync();
        var task = await _h.SubmitAsync(TaskTypes.ObjectCopy, new { fromKey = "nope", toKey = "b" }, maxAttempts: 5);
        var done = await _h.WaitFinishedAsync(task.Id);
        Assert.Equal(TaskState.Failed, done.Status);
        Assert.Equal(1, done.Attempts);
        Assert.False(done.Dead);
        Assert.Contains("does not exist", done.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upload_streams_a_url_into_the_store_and_inline_content_is_stored_too()
    {
        await using var source = await SourceServer.StartAsync();
        await _h.StartAgentAsync();
        var sha = Convert.ToHexStringLower(SHA256.HashData(source.Blob));

        var fetched = await _h.SubmitAsync(TaskTypes.ObjectUpload, new { key = "big.bin", sourceUrl = source.Url("/blob"), sha256 = sha });
        var inline = await _h.SubmitAsync(TaskTypes.ObjectUpload, new { key = "small.txt", contentBase64 = Convert.ToBase64String("hi"u8), contentType = "text/plain" });

        var done = await _h.WaitFinishedAsync(fetched.Id);
        Assert.Equal(TaskState.Succeeded, done.Status);
        Assert.Equal(source.Blob, _h.Objects.Bytes("big.bin"));
        Assert.Equal(sha, done.Result!.Value.GetProperty("sha256").GetString());
        Assert.Equal(TaskState.Succeeded, (await _h.WaitFinishedAsync(inline.Id)).Status);
        Assert.Equal("hi"u8.ToArray(), _h.Objects.Bytes("small.txt"));
    }

    [Fact]
    public async Task Upload_from_a_404_fails_permanently()
    {
        await using var source = await SourceServer.StartAsync();
        await _h.StartAgentAsync();
        var task = await _h.SubmitAsync(TaskTypes.ObjectUpload, new { key = "x", sourceUrl = source.Url("/gone") }, maxAttempts: 4);
        var done = await _h.WaitFinishedAsync(task.Id);
        Assert.Equal(TaskState.Failed, done.Status);
        Assert.Equal(1, done.Attempts);
        Assert.Contains("404", done.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_transient_failure_is_retried_with_growing_backoff_then_succeeds()
    {
        await using var source = await SourceServer.StartAsync();
        source.FlakyFailures = 2;
        await _h.StartAgentAsync();
        var task = await _h.SubmitAsync(TaskTypes.ObjectUpload, new { key = "flaky.bin", sourceUrl = source.Url("/flaky") }, maxAttempts: 3);

        var done = await _h.WaitFinishedAsync(task.Id);
        Assert.Equal(TaskState.Succeeded, done.Status);
        Assert.Equal(3, done.Attempts);
        Assert.Null(done.Error);
        Assert.Equal(source.Blob, _h.Objects.Bytes("flaky.bin"));

        // Backoff 200 ms, then 400 ms (no jitter in the harness): each gap is at least its delay.
        var times = source.Requests.Where(r => r.Path == "/flaky").Select(r => r.At).ToArray();
        Assert.Equal(3, times.Length);
        Assert.True(times[1] - times[0] >= TimeSpan.FromMilliseconds(200), $"first gap {(times[1] - times[0]).TotalMilliseconds} ms");
        Assert.True(times[2] - times[1] >= TimeSpan.FromMilliseconds(400), $"second gap {(times[2] - times[1]).TotalMilliseconds} ms");

        // Queued on submit and after each of the two failures.
        await Eventually.WaitAsync(() => _h.Events.Count(e => e.Type == TaskEvents.Queued && e.Subject == task.Id) == 3, TaskHarness.Deadline, "three task.queued");
    }

    [Fact]
    public async Task Exhausting_the_attempts_fails_the_task_as_a_dead_letter()
    {
        _h.Functions.FailuresBefore["doomed"] = int.MaxValue;
        await _h.StartAgentAsync();
        var task = await _h.SubmitAsync(TaskTypes.FunctionInvoke, new { function = "echo", @event = new { tag = "doomed" } }, maxAttempts: 2);

        var done = await _h.WaitFinishedAsync(task.Id);
        Assert.Equal(TaskState.Failed, done.Status);
        Assert.True(done.Dead);
        Assert.Equal(2, done.Attempts);
        Assert.Contains("scripted failure 2", done.Error, StringComparison.Ordinal);
        Assert.Equal(2, _h.Functions.Calls("doomed"));

        var dead = await _h.Board.ListAsync("dead", 10);
        Assert.Equal(task.Id, Assert.Single(dead).Id);
        Assert.Equal(1, (await _h.Board.StatsAsync()).Dead);
        await Eventually.WaitAsync(() => _h.Events.Any(e => e.Type == TaskEvents.Failed && e.Subject == task.Id), TaskHarness.Deadline, "task.failed");

        var actions = await _h.WaitActionsAsync(task.Id, 2);
        Assert.Equal(2, actions.Count);
        Assert.All(actions, a => Assert.Equal("tasks", a.Agent));
        Assert.All(actions, a => Assert.Equal(ActionStatus.Failed, a.Status));
        Assert.Contains(actions, a => a.Outcome!.Contains("dead letter", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Function_invoke_succeeds_with_the_response_and_an_unknown_function_fails_permanently()
    {
        await _h.StartAgentAsync();
        var ok = await _h.SubmitAsync(TaskTypes.FunctionInvoke, new { function = "echo", version = 3, @event = new { tag = "ok", n = 7 } });
        var missing = await _h.SubmitAsync(TaskTypes.FunctionInvoke, new { function = "missing", @event = new { tag = "missing" } }, maxAttempts: 3);

        var done = await _h.WaitFinishedAsync(ok.Id);
        Assert.Equal(TaskState.Succeeded, done.Status);
        Assert.Equal(7, done.Result!.Value.GetProperty("response").GetProperty("n").GetInt32());
        Assert.Equal(3, done.Result!.Value.GetProperty("version").GetInt32());

        var failed = await _h.WaitFinishedAsync(missing.Id);
        Assert.Equal(TaskState.Failed, failed.Status);
        Assert.Equal(1, _h.Functions.Calls("missing"));

        var run = Assert.Single(await _h.WaitActionsAsync(ok.Id, 1));
        Assert.Equal("task.run", run.Kind);
        Assert.Equal(ActionStatus.Succeeded, run.Status);
        Assert.Equal("function.invoke", run.Evidence["type"]);
    }

    [Fact]
    public async Task The_same_idempotency_key_returns_the_first_task_and_a_different_request_with_it_is_refused()
    {
        var first = await _h.Board.SubmitAsync(new TaskSubmission(TaskTypes.Job, J("""{"command":"/bin/true"}"""), "key-1"));
        var again = await _h.Board.SubmitAsync(new TaskSubmission(TaskTypes.Job, J("""{"command":"/bin/true"}"""), "key-1"));
        Assert.False(first.Replayed);
        Assert.True(again.Replayed);
        Assert.Equal(first.Task.Id, again.Task.Id);
        Assert.Single(await _h.Board.ListAsync(null, 10));

        await Assert.ThrowsAsync<IdempotencyConflictException>(() =>
            _h.Board.SubmitAsync(new TaskSubmission(TaskTypes.Job, J("""{"command":"/bin/false"}"""), "key-1")));
    }

    [Fact]
    public async Task Concurrent_submissions_with_one_key_make_one_task()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            _h.Board.SubmitAsync(new TaskSubmission(TaskTypes.Job, J("""{"command":"/bin/true"}"""), "race")))));
        Assert.Single(results.Select(r => r.Task.Id).Distinct());
        Assert.Single(results, r => !r.Replayed);
        Assert.Single(await _h.Board.ListAsync(null, 10));
    }

    [Fact]
    public async Task Invalid_submissions_list_every_problem()
    {
        var e = await Assert.ThrowsAsync<TaskValidationException>(() =>
            _h.Board.SubmitAsync(new TaskSubmission(TaskTypes.ObjectCopy, J("""{"fromKey":"a"}"""), MaxAttempts: 99)));
        Assert.Contains("toKey is required", e.Errors);
        Assert.Contains(e.Errors, x => x.StartsWith("maxAttempts", StringComparison.Ordinal));
        Assert.Empty(await _h.Board.ListAsync(null, 10));
    }

    [Fact]
    public async Task Cancelling_a_queued_task_ends_it_at_once_and_it_never_runs()
    {
        var task = await _h.SubmitAsync(TaskTypes.FunctionInvoke, new { function = "echo", @event = new { tag = "never" } });
        var (outcome, cancelled) = await _h.Board.CancelAsync(task.Id);
        Assert.Equal(CancelOutcome.Cancelled, outcome);
        Assert.Equal(TaskState.Cancelled, cancelled!.Status);

        // The work message is still on the bus: the agent that now starts must skip it.
        await _h.StartAgentAsync();
        var after = await _h.SubmitAsync(TaskTypes.FunctionInvoke, new { function = "echo", @event = new { tag = "after" } });
        await _h.WaitFinishedAsync(after.Id);
        Assert.Equal(0, _h.Functions.Calls("never"));
        Assert.Equal(TaskState.Cancelled, (await _h.GetAsync(task.Id)).Status);

        Assert.Equal(CancelOutcome.AlreadyFinished, (await _h.Board.CancelAsync(task.Id)).Outcome);
        Assert.Equal(CancelOutcome.NotFound, (await _h.Board.CancelAsync("task-nope")).Outcome);
    }

    [Fact]
    public async Task Cancelling_a_running_job_kills_its_process()
    {
        await _h.StartAgentAsync();
        var pidFile = Path.Combine(_h.Root, "job.pid");
        var task = await _h.SubmitAsync(TaskTypes.Job, new { command = "/bin/sh", args = new[] { "-c", $"echo $$ > {pidFile}; exec sleep 60" } });
        await Eventually.WaitAsync(() => File.Exists(pidFile) && File.ReadAllText(pidFile).EndsWith('\n'), TaskHarness.Deadline, "the job to start");
        var pid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.False(RuntimeTestKit.IsGoneOrZombie(pid));

        var (outcome, flagged) = await _h.Board.CancelAsync(task.Id);
        Assert.Equal(CancelOutcome.Requested, outcome);
        Assert.True(flagged!.CancelRequested);

        var done = await _h.WaitFinishedAsync(task.Id);
        Assert.Equal(TaskState.Cancelled, done.Status);
        Assert.True(RuntimeTestKit.IsGoneOrZombie(pid), $"process {pid} still runs");
        await Eventually.WaitAsync(() => _h.Events.Any(e => e.Type == TaskEvents.Cancelled && e.Subject == task.Id), TaskHarness.Deadline, "task.cancelled");
    }

    [Fact]
    public async Task Job_exit_0_succeeds_with_its_exit_code_and_log_tail()
    {
        await _h.StartAgentAsync();
        var task = await _h.SubmitAsync(TaskTypes.Job, new { command = "/bin/sh", args = new[] { "-c", "for i in 1 2 3; do echo line $i; done; echo \"env=$GREETING\"" }, env = new Dictionary<string, string> { ["GREETING"] = "hi" } });
        var done = await _h.WaitFinishedAsync(task.Id);
        Assert.Equal(TaskState.Succeeded, done.Status);
        var result = done.Result!.Value;
        Assert.Equal(0, result.GetProperty("exitCode").GetInt32());
        var tail = result.GetProperty("logTail").EnumerateArray().Select(x => x.GetString()!).ToArray();
        Assert.Equal(["line 1", "line 2", "line 3", "env=hi"], tail);
    }

    [Fact]
    public async Task Job_exit_3_fails_with_its_exit_code_after_its_attempts()
    {
        await _h.StartAgentAsync();
        var task = await _h.SubmitAsync(TaskTypes.Job, new { command = "/bin/sh", args = new[] { "-c", "echo failing >&2; exit 3" } }, maxAttempts: 2);
        var done = await _h.WaitFinishedAsync(task.Id);
        Assert.Equal(TaskState.Failed, done.Status);
        Assert.True(done.Dead);
        Assert.Equal(2, done.Attempts);
        Assert.Equal("exit code 3", done.Error);
        Assert.Equal(3, done.Result!.Value.GetProperty("exitCode").GetInt32());
        Assert.Equal("failing", done.Result!.Value.GetProperty("logTail").EnumerateArray().Last().GetString());
    }

    [Fact]
    public async Task Job_past_its_timeout_is_stopped_and_fails()
    {
        await _h.StartAgentAsync();
        var pidFile = Path.Combine(_h.Root, "slow.pid");
        var task = await _h.SubmitAsync(TaskTypes.Job, new { command = "/bin/sh", args = new[] { "-c", $"echo $$ > {pidFile}; exec sleep 60" }, timeoutSeconds = 1 }, maxAttempts: 1);
        var done = await _h.WaitFinishedAsync(task.Id);
        Assert.Equal(TaskState.Failed, done.Status);
        Assert.StartsWith("timed out after 1 s", done.Error, StringComparison.Ordinal);
        Assert.True(done.Result!.Value.GetProperty("timedOut").GetBoolean());
        var pid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(RuntimeTestKit.IsGoneOrZombie(pid));
    }

    [Fact]
    public async Task Job_with_a_missing_command_fails_permanently()
    {
        await _h.StartAgentAsync();
        var task = await _h.SubmitAsync(TaskTypes.Job, new { command = "/no/such/program" }, maxAttempts: 3);
        var done = await _h.WaitFinishedAsync(task.Id);
        Assert.Equal(TaskState.Failed, done.Status);
        Assert.Equal(1, done.Attempts);
        Assert.Contains("not found", done.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_agents_on_one_bus_and_store_never_run_a_task_twice()
    {
        // Each run takes a while, so one agent's three workers cannot take all 40 before the other's get any.
        var a = new ScriptedFunctionInvoker { Delay = TimeSpan.FromMilliseconds(50) };
        var b = new ScriptedFunctionInvoker { Delay = TimeSpan.FromMilliseconds(50) };
        await _h.StartAgentAsync(o => o.Concurrency = 3, a);
        await _h.StartAgentAsync(o => o.Concurrency = 3, b);

        var ids = new List<string>();
        for (var i = 0; i < 40; i++)
        {
            ids.Add((await _h.SubmitAsync(TaskTypes.FunctionInvoke, new { function = "echo", @event = new { tag = $"t{i}" } })).Id);
            // Extra deliveries of the same work message, as at-least-once delivery may bring.
            await _h.Board.PublishWorkAsync(ids[^1]);
        }

        foreach (var id in ids)
        {
            Assert.Equal(TaskState.Succeeded, (await _h.WaitFinishedAsync(id)).Status);
        }

        for (var i = 0; i < 40; i++)
        {
            Assert.Equal(1, a.Calls($"t{i}") + b.Calls($"t{i}"));
        }

        Assert.True(a.Total > 0 && b.Total > 0, $"both agents should share the work: {a.Total} and {b.Total}");
    }

    [Fact]
    public async Task A_duplicated_work_message_runs_the_task_once()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _h.Functions.Gate = gate;
        await _h.StartAgentAsync(o => o.Concurrency = 4);
        var task = await _h.SubmitAsync(TaskTypes.FunctionInvoke, new { function = "echo", @event = new { tag = "dup" } });
        for (var i = 0; i < 5; i++)
        {
            await _h.Board.PublishWorkAsync(task.Id);
        }

        await _h.WaitAsync(task.Id, t => t.Status == TaskState.Running, "the task to run");
        gate.SetResult();
        await _h.WaitFinishedAsync(task.Id);
        // Deliveries after it finished must be skipped too.
        await _h.Board.PublishWorkAsync(task.Id);
        var marker = await _h.SubmitAsync(TaskTypes.FunctionInvoke, new { function = "echo", @event = new { tag = "marker" } });
        await _h.WaitFinishedAsync(marker.Id);
        Assert.Equal(1, _h.Functions.Calls("dup"));
        Assert.Single(await _h.WaitActionsAsync(task.Id, 1));
    }

    [Fact]
    public async Task A_deep_queue_publishes_one_scale_request_per_cooldown()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _h.Functions.Gate = gate;
        var agent = await _h.StartAgentAsync(o =>
        {
            o.Concurrency = 1;
            o.Scale = new TaskScalePolicy { Service = "task-workers", DepthThreshold = 3, AgeThreshold = TimeSpan.FromHours(1), Cooldown = TimeSpan.FromMinutes(10) };
        });
        for (var i = 0; i < 3; i++)
        {
            await _h.SubmitAsync(TaskTypes.FunctionInvoke, new { function = "echo", @event = new { tag = $"s{i}" } });
        }

        // One runs (held by the gate), two wait: below the threshold.
        await Eventually.WaitAsync(() => agent.LastStats is { Running: 1, Depth: 2 }, TaskHarness.Deadline, "one running, two queued");
        await agent.SweepAsync(CancellationToken.None);
        Assert.DoesNotContain(_h.Events, e => e.Type == EventTypes.ScaleRequested);

        for (var i = 3; i < 6; i++)
        {
            await _h.SubmitAsync(TaskTypes.FunctionInvoke, new { function = "echo", @event = new { tag = $"s{i}" } });
        }

        await Eventually.WaitAsync(() => _h.Events.Any(e => e.Type == EventTypes.ScaleRequested), TaskHarness.Deadline, "a scale request");
        var request = _h.Events.Single(e => e.Type == EventTypes.ScaleRequested).Data!.Value.Deserialize<ScaleRequest>(JsonDefaults.Options)!;
        Assert.Equal("task-workers", request.Service);
        Assert.Equal(5, request.QueueDepth);
        Assert.Contains("queue depth 5 > 3", request.Reason, StringComparison.Ordinal);

        // Still deep, but within the cooldown: more sweeps ask nothing more.
        for (var i = 0; i < 5; i++)
        {
            await agent.SweepAsync(CancellationToken.None);
        }

        Assert.Single(_h.Events, e => e.Type == EventTypes.ScaleRequested);
        var action = Assert.Single(await _h.WaitActionsAsync("task-workers", 1), a => a.Kind == "scale.request");
        Assert.Equal(ActionStatus.Succeeded, action.Status);
        Assert.Equal("5", action.Evidence["queueDepth"]);
        gate.SetResult();
    }

    [Fact]
    public async Task SetConcurrency_adds_worker_slots_that_take_queued_work()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _h.Functions.Gate = gate;
        var agent = await _h.StartAgentAsync(o => o.Concurrency = 1);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            ids.Add((await _h.SubmitAsync(TaskTypes.FunctionInvoke, new { function = "echo", @event = new { tag = $"c{i}" } })).Id);
        }

        await Eventually.WaitAsync(() => agent.LastStats is { Running: 1, Depth: 2 }, TaskHarness.Deadline, "one running");
        agent.SetConcurrency(3);
        Assert.Equal(3, agent.Concurrency);
        await Eventually.WaitAsync(() => agent.LastStats is { Running: 3, Depth: 0 }, TaskHarness.Deadline, "three running");
        gate.SetResult();
        foreach (var id in ids)
        {
            Assert.Equal(TaskState.Succeeded, (await _h.WaitFinishedAsync(id)).Status);
        }
    }

    [Fact]
    public async Task A_task_whose_worker_vanished_is_recovered_by_the_sweep()
    {
        // A task claimed by a worker that died: running, with a lease already over.
        var task = await _h.SubmitAsync(TaskTypes.FunctionInvoke, new { function = "echo", @event = new { tag = "orphan" } });
        var claimed = await _h.Board.ApplyAsync(task.Id, new TaskEvent.Claim("dead-agent", TimeProvider.System.GetUtcNow().AddMilliseconds(100)));
        Assert.True(claimed!.Accepted);

        await _h.StartAgentAsync();
        var done = await _h.WaitFinishedAsync(task.Id);
        Assert.Equal(TaskState.Succeeded, done.Status);
        Assert.Equal(2, done.Attempts);
        Assert.Contains(await _h.WaitActionsAsync(task.Id, 2), a => a.Kind == "task.recover");
    }

    private static JsonElement J(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
