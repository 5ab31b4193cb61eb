using System.Text.Json;
using Autonomic.Core.Model;
using Autonomic.Core.Tasks;

namespace Autonomic.Core.Tests.Tasks;

/// <summary>Input validation per task type, the queue stats and the scale decision.</summary>
public sealed class TaskInputsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    private static JsonElement J(string json) => JsonDocument.Parse(json).RootElement.Clone();

    [Fact]
    public void UnknownType_NamesTheKnownTypes()
    {
        var errors = TaskInputs.Validate("object.delete", J("{}"));
        var error = Assert.Single(errors);
        Assert.Contains("object.delete", error, StringComparison.Ordinal);
        foreach (var type in TaskTypes.All)
        {
            Assert.Contains(type, error, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("object.upload", """{"key":"a/b.txt","sourceUrl":"https://example.com/x"}""")]
    [InlineData("object.upload", """{"store":"default","key":"a","contentBase64":"aGVsbG8=","contentType":"text/plain"}""")]
    [InlineData("object.copy", """{"fromKey":"a","toKey":"b"}""")]
    [InlineData("object.copy", """{"fromStore":"s3","fromKey":"a","toStore":"default","toKey":"x/b"}""")]
    [InlineData("function.invoke", """{"function":"thumb","version":2,"event":{"k":1}}""")]
    [InlineData("job", """{"command":"/bin/sh","args":["-c","exit 0"],"env":{"A_B":"1"},"timeoutSeconds":5}""")]
    public void ValidInputs_HaveNoErrors(string type, string input)
    {
        Assert.Empty(TaskInputs.Validate(type, J(input)));
    }

    [Fact]
    public void Upload_NeedsExactlyOneSource_AndAnHttpUrl()
    {
        Assert.Contains(TaskInputs.Validate(TaskTypes.ObjectUpload, J("""{"key":"a"}""")), e => e.Contains("exactly one", StringComparison.Ordinal));
        Assert.Contains(TaskInputs.Validate(TaskTypes.ObjectUpload, J("""{"key":"a","sourceUrl":"file:///etc/passwd"}""")), e => e.Contains("http", StringComparison.Ordinal));
        Assert.Contains(TaskInputs.Validate(TaskTypes.ObjectUpload, J("""{"key":"a","contentBase64":"%%%"}""")), e => e.Contains("base64", StringComparison.Ordinal));
    }

    [Fact]
    public void AllProblems_AreListedAtOnce()
    {
        var errors = TaskInputs.Validate(TaskTypes.ObjectCopy, J("""{"fromKey":"../etc","toStore":"Bad Store","extra":1}"""));
        Assert.Contains(errors, e => e.Contains("fromKey", StringComparison.Ordinal) && e.Contains("..", StringComparison.Ordinal));
        Assert.Contains(errors, e => e == "toKey is required");
        Assert.Contains(errors, e => e.Contains("toStore", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("unknown field 'extra'", StringComparison.Ordinal));
    }

    [Fact]
    public void Job_ChecksTypesAndTimeout()
    {
        var errors = TaskInputs.Validate(TaskTypes.Job, J("""{"args":[1],"env":{"1X":"v"},"timeoutSeconds":0}"""));
        Assert.Contains("command is required", errors);
        Assert.Contains(errors, e => e.StartsWith("args", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("1X", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("timeoutSeconds", StringComparison.Ordinal));
        Assert.Equal(TaskInputs.DefaultTimeoutSeconds, TaskInputs.Job(J("""{"command":"true"}""")).TimeoutSeconds);
    }

    [Fact]
    public void InputThatIsNotAnObject_IsAnError()
    {
        Assert.Single(TaskInputs.Validate(TaskTypes.Job, J("[1]")));
        Assert.Single(TaskInputs.Validate(TaskTypes.Job, null));
        Assert.Single(TaskInputs.Validate(null, J("{}")));
    }

    private static TaskRecord T(TaskState s, DateTimeOffset created, DateTimeOffset? next = null, bool dead = false) =>
        TaskLifecycle.Create(Guid.NewGuid().ToString("N"), TaskTypes.Job, J("{}"), 3, null, null, created) with { Status = s, NextAttemptAt = next, Dead = dead };

    [Fact]
    public void Stats_CountDueDepth_OldestAge_AndRetriesSeparately()
    {
        var now = T0.AddSeconds(100);
        var stats = TaskQueueStats.Of(
        [
            T(TaskState.Queued, T0),
            T(TaskState.Queued, T0.AddSeconds(50)),
            T(TaskState.Queued, T0, next: now.AddSeconds(5)),
            T(TaskState.Running, T0),
            T(TaskState.Failed, T0, dead: true),
            T(TaskState.Succeeded, T0),
        ], now);
        Assert.Equal(2, stats.Depth);
        Assert.Equal(100, stats.OldestAgeSeconds);
        Assert.Equal(1, stats.WaitingRetry);
        Assert.Equal(1, stats.Running);
        Assert.Equal(1, stats.Dead);
        Assert.Equal(3, stats.ByStatus["queued"]);
        Assert.Equal(0, stats.ByStatus["cancelled"]);
    }

    [Fact]
    public void Scaling_AsksPastAThreshold_AndNotAgainWithinTheCooldown()
    {
        var policy = new TaskScalePolicy { Service = "workers", DepthThreshold = 5, AgeThreshold = TimeSpan.FromSeconds(30), Cooldown = TimeSpan.FromSeconds(60) };
        Assert.Null(TaskScaling.Decide(new TaskQueueStats { Depth = 5, OldestAgeSeconds = 10 }, null, policy, T0));

        var deep = TaskScaling.Decide(new TaskQueueStats { Depth = 6, OldestAgeSeconds = 10 }, null, policy, T0);
        Assert.Equal(new ScaleRequest("workers", "queue depth 6 > 5", 6, 10), deep);

        var old = TaskScaling.Decide(new TaskQueueStats { Depth = 1, OldestAgeSeconds = 31 }, null, policy, T0);
        Assert.Contains("oldest", old!.Reason, StringComparison.Ordinal);

        Assert.Null(TaskScaling.Decide(new TaskQueueStats { Depth = 60 }, T0, policy, T0.AddSeconds(59)));
        Assert.NotNull(TaskScaling.Decide(new TaskQueueStats { Depth = 60 }, T0, policy, T0.AddSeconds(60)));
    }
}
