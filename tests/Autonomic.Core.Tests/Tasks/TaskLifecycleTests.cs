using System.Text.Json;
using Autonomic.Core.Tasks;
using CsCheck;

namespace Autonomic.Core.Tests.Tasks;

/// <summary>One test per transition of <see cref="TaskLifecycle"/>, then properties over random event sequences.</summary>
public sealed class TaskLifecycleTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TaskRetryPolicy Policy = new() { BackoffInitial = TimeSpan.FromSeconds(1), BackoffMax = TimeSpan.FromSeconds(30), Jitter = 0 };
    private const string Me = "agent-a";

    private static TaskRecord Queued(int maxAttempts = 3) =>
        TaskLifecycle.Create("task-1", TaskTypes.Job, JsonSerializer.SerializeToElement(new { command = "true" }), maxAttempts, null, "test", T0);

    private static TaskTransition Step(TaskRecord t, TaskEvent e, DateTimeOffset? now = null) => TaskLifecycle.Next(t, e, Policy, now ?? T0, 0.5);

    private static TaskRecord Running(int maxAttempts = 3) => Step(Queued(maxAttempts), new TaskEvent.Claim(Me, T0.AddSeconds(30))).Task;

    [Fact]
    public void Create_IsQueued_WithNoAttempts_AndClampsMaxAttempts()
    {
        var t = Queued();
        Assert.Equal(TaskState.Queued, t.Status);
        Assert.Equal(0, t.Attempts);
        Assert.True(TaskLifecycle.IsDue(t, T0));
        Assert.Equal(TaskInputs.MaxAttemptsLimit, Queued(500).MaxAttempts);
        Assert.Equal(1, Queued(0).MaxAttempts);
    }

    [Fact]
    public void Dispatch_MarksTheQueuedTask()
    {
        var tr = Step(Queued(), new TaskEvent.Dispatched());
        Assert.True(tr.Accepted);
        Assert.Equal(T0, tr.Task.DispatchedAt);
        Assert.Null(tr.Emit);
    }

    [Fact]
    public void Claim_StartsAnAttempt()
    {
        var tr = Step(Queued(), new TaskEvent.Claim(Me, T0.AddSeconds(30)));
        Assert.Equal("claim", tr.Rule);
        Assert.Equal(TaskState.Running, tr.Task.Status);
        Assert.Equal(1, tr.Task.Attempts);
        Assert.Equal(Me, tr.Task.Owner);
        Assert.Equal(T0.AddSeconds(30), tr.Task.LeaseUntil);
        Assert.Equal(TaskEvents.Running, tr.Emit);
    }

    [Fact]
    public void Claim_OfARunningTask_IsRejected_SoASecondWorkerNeverRunsIt()
    {
        var tr = Step(Running(), new TaskEvent.Claim("agent-b", T0.AddSeconds(30)));
        Assert.False(tr.Accepted);
        Assert.Equal(Me, tr.Task.Owner);
        Assert.Equal(1, tr.Task.Attempts);
    }

    [Fact]
    public void Claim_BeforeTheBackoffEnds_IsRejected()
    {
        var waiting = Step(Running(), new TaskEvent.Fail(Me, 1, "boom", false)).Task;
        Assert.False(Step(waiting, new TaskEvent.Claim(Me, T0.AddSeconds(30))).Accepted);
        Assert.True(Step(waiting, new TaskEvent.Claim(Me, T0.AddSeconds(60)), waiting.NextAttemptAt).Accepted);
    }

    [Fact]
    public void Renew_ByTheOwner_ExtendsTheLease_AndAStaleRenewIsRejected()
    {
        var t = Running();
        Assert.Equal(T0.AddSeconds(90), Step(t, new TaskEvent.Renew(Me, 1, T0.AddSeconds(90))).Task.LeaseUntil);
        Assert.False(Step(t, new TaskEvent.Renew("agent-b", 1, T0.AddSeconds(90))).Accepted);
        Assert.False(Step(t, new TaskEvent.Renew(Me, 2, T0.AddSeconds(90))).Accepted);
    }

    [Fact]
    public void Succeed_StoresTheResult_AndClearsTheError()
    {
        var result = JsonSerializer.SerializeToElement(new { exitCode = 0 });
        var tr = Step(Running() with { Error = "earlier" }, new TaskEvent.Succeed(Me, 1, result), T0.AddSeconds(2));
        Assert.Equal(TaskState.Succeeded, tr.Task.Status);
        Assert.Equal(0, tr.Task.Result!.Value.GetProperty("exitCode").GetInt32());
        Assert.Null(tr.Task.Error);
        Assert.Equal(T0.AddSeconds(2), tr.Task.FinishedAt);
        Assert.Null(tr.Task.Owner);
        Assert.Equal(TaskEvents.Succeeded, tr.Emit);
    }

    [Fact]
    public void TransientFailure_WithAttemptsLeft_RetriesAfterBackoff()
    {
        var tr = Step(Running(), new TaskEvent.Fail(Me, 1, "503", false));
        Assert.Equal("retry", tr.Rule);
        Assert.Equal(TaskState.Queued, tr.Task.Status);
        Assert.Equal(T0.AddSeconds(1), tr.Task.NextAttemptAt);
        Assert.Equal("503", tr.Task.Error);
        Assert.Null(tr.Task.DispatchedAt);
        Assert.Equal(TaskEvents.Queued, tr.Emit);

        var second = Step(Step(tr.Task, new TaskEvent.Claim(Me, T0.AddSeconds(60)), T0.AddSeconds(1)).Task, new TaskEvent.Fail(Me, 2, "503", false), T0.AddSeconds(1));
        Assert.Equal(T0.AddSeconds(3), second.Task.NextAttemptAt);
    }

    [Fact]
    public void TransientFailure_OfTheLastAttempt_IsFailedAndDead()
    {
        var tr = Step(Running(maxAttempts: 1), new TaskEvent.Fail(Me, 1, "exit code 3", false));
        Assert.Equal("exhausted", tr.Rule);
        Assert.Equal(TaskState.Failed, tr.Task.Status);
        Assert.True(tr.Task.Dead);
        Assert.Equal("exit code 3", tr.Task.Error);
        Assert.Equal(TaskEvents.Failed, tr.Emit);
    }

    [Fact]
    public void PermanentFailure_FailsAtOnce_AndIsNotDead()
    {
        var tr = Step(Running(maxAttempts: 5), new TaskEvent.Fail(Me, 1, "no such object", true));
        Assert.Equal("permanent", tr.Rule);
        Assert.Equal(TaskState.Failed, tr.Task.Status);
        Assert.False(tr.Task.Dead);
    }

    [Fact]
    public void Cancel_OfAQueuedTask_CancelsAtOnce()
    {
        var tr = Step(Queued(), new TaskEvent.RequestCancel());
        Assert.Equal("cancel.queued", tr.Rule);
        Assert.Equal(TaskState.Cancelled, tr.Task.Status);
        Assert.Equal(TaskEvents.Cancelled, tr.Emit);
    }

    [Fact]
    public void Cancel_OfARunningTask_FlagsIt_ThenTheWorkerStopsIt()
    {
        var flagged = Step(Running(), new TaskEvent.RequestCancel());
        Assert.Equal("cancel.requested", flagged.Rule);
        Assert.Equal(TaskState.Running, flagged.Task.Status);
        Assert.True(flagged.Task.CancelRequested);
        Assert.Null(flagged.Emit);

        var stopped = Step(flagged.Task, new TaskEvent.Stopped(Me, 1));
        Assert.Equal(TaskState.Cancelled, stopped.Task.Status);
        Assert.Equal(TaskEvents.Cancelled, stopped.Emit);
    }

    [Fact]
    public void Cancel_OfAFinishedTask_IsRejected()
    {
        var done = Step(Running(), new TaskEvent.Succeed(Me, 1, null)).Task;
        var tr = Step(done, new TaskEvent.RequestCancel());
        Assert.False(tr.Accepted);
        Assert.Equal(TaskState.Succeeded, tr.Task.Status);
    }

    [Fact]
    public void Release_GivesTheAttemptBack()
    {
        var tr = Step(Running(), new TaskEvent.Release(Me, 1));
        Assert.Equal(TaskState.Queued, tr.Task.Status);
        Assert.Equal(0, tr.Task.Attempts);
        Assert.True(TaskLifecycle.IsDue(tr.Task, T0));
    }

    [Fact]
    public void LeaseExpired_CountsAsATransientFailure_OnlyAfterTheLeaseEnds()
    {
        var t = Running();
        Assert.False(Step(t, new TaskEvent.LeaseExpired(), T0.AddSeconds(10)).Accepted);
        var tr = Step(t, new TaskEvent.LeaseExpired(), T0.AddSeconds(31));
        Assert.Equal("lease.expired.retry", tr.Rule);
        Assert.Equal(TaskState.Queued, tr.Task.Status);
        Assert.Contains("lost", tr.Task.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void LeaseExpired_OfACancelRequestedTask_Cancels()
    {
        var t = Step(Running(), new TaskEvent.RequestCancel()).Task;
        Assert.Equal(TaskState.Cancelled, Step(t, new TaskEvent.LeaseExpired(), T0.AddSeconds(31)).Task.Status);
    }

    [Fact]
    public void RetryDelay_GrowsAndIsCapped()
    {
        Assert.Equal(TimeSpan.FromSeconds(1), Policy.DelayAfter(1, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(2), Policy.DelayAfter(2, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(16), Policy.DelayAfter(5, 0.5));
        Assert.Equal(TimeSpan.FromSeconds(30), Policy.DelayAfter(50, 0.5));
    }

    private static readonly Gen<string> Owners = Gen.Bool.Select(b => b ? Me : "agent-b");

    // Events a worker pool could throw at a task in any order, with a clock that moves forward.
    private static readonly Gen<TaskEvent> Events = Gen.OneOf(
        Gen.Const<TaskEvent>(new TaskEvent.Dispatched()),
        Gen.Select(Owners, Gen.Int[1, 120], (o, s) => (TaskEvent)new TaskEvent.Claim(o, T0.AddSeconds(s))),
        Gen.Select(Owners, Gen.Int[0, 6], (o, a) => (TaskEvent)new TaskEvent.Succeed(o, a, null)),
        Gen.Select(Owners, Gen.Int[0, 6], Gen.Bool, (o, a, p) => (TaskEvent)new TaskEvent.Fail(o, a, "x", p)),
        Gen.Select(Owners, Gen.Int[0, 6], (o, a) => (TaskEvent)new TaskEvent.Renew(o, a, T0.AddSeconds(200))),
        Gen.Select(Owners, Gen.Int[0, 6], (o, a) => (TaskEvent)new TaskEvent.Stopped(o, a)),
        Gen.Select(Owners, Gen.Int[0, 6], (o, a) => (TaskEvent)new TaskEvent.Release(o, a)),
        Gen.Const<TaskEvent>(new TaskEvent.RequestCancel()),
        Gen.Const<TaskEvent>(new TaskEvent.LeaseExpired()));

    private static IEnumerable<(TaskTransition Step, TaskRecord Before)> Run(TaskRecord start, IEnumerable<(TaskEvent Event, int Seconds, double Random)> script)
    {
        var t = start;
        var now = T0;
        foreach (var (e, s, r) in script)
        {
            now = now.AddSeconds(s);
            var tr = TaskLifecycle.Next(t, e, Policy, now, r);
            yield return (tr, t);
            t = tr.Task;
        }
    }

    private static readonly Gen<(int Max, (TaskEvent, int, double)[] Script)> Scripts =
        Gen.Select(Gen.Int[1, 5], Gen.Select(Events, Gen.Int[0, 40], Gen.Double.Unit).Array[0, 60]);

    [Fact]
    public void Property_AttemptsNeverExceedMaxAttempts()
    {
        Scripts.Sample((max, script) =>
        {
            foreach (var (step, _) in Run(Queued(max), script))
            {
                Assert.InRange(step.Task.Attempts, 0, max);
            }
        }, iter: 5_000);
    }

    [Fact]
    public void Property_ACancelledTaskNeverRunsAgain_AndFinalStatesAreFinal()
    {
        Scripts.Sample((max, script) =>
        {
            TaskState? final = null;
            foreach (var (step, before) in Run(Queued(max), script))
            {
                if (final is { } f)
                {
                    Assert.False(step.Accepted);
                    Assert.Equal(f, step.Task.Status);
                    Assert.Equal(before, step.Task);
                }

                if (step.Task.Status == TaskState.Running)
                {
                    Assert.NotEqual(TaskState.Cancelled, before.Status);
                }

                if (TaskStates.IsFinal(step.Task.Status))
                {
                    final = step.Task.Status;
                }
            }
        }, iter: 5_000);
    }

    [Fact]
    public void Property_ARejectedStepChangesNothing_AndOnlyTheOwnerFinishesAnAttempt()
    {
        Scripts.Sample((max, script) =>
        {
            foreach (var (step, before) in Run(Queued(max), script))
            {
                if (!step.Accepted)
                {
                    Assert.Same(before, step.Task);
                    Assert.Null(step.Emit);
                }
                else if (before.Status == TaskState.Running && step.Task.Status is TaskState.Succeeded)
                {
                    Assert.Equal(before.Attempts, step.Task.Attempts);
                }
            }
        }, iter: 5_000);
    }
}
