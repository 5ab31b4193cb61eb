using Autonomic.Core.Model;
using Autonomic.Core.Policies;
using CsCheck;

namespace Autonomic.Core.Tests.Policies;

/// <summary>The replica rule for replacing degraded instances.</summary>
public sealed class ReplacementTests
{
    private static readonly InstanceState[] Busy =
        [InstanceState.Stopping, InstanceState.Starting, InstanceState.Backoff, InstanceState.Running];

    private static (string Id, InstanceState State)[] Siblings(params InstanceState[] states) =>
        states.Select((s, i) => ($"api-{i}", s)).ToArray();

    [Fact]
    public void CanReplace_NeverLeavesAMultiReplicaServiceWithoutAReadyInstance()
    {
        var cases = Gen.Select(Gen.Enum<InstanceState>().Array[1, 8], Gen.Int[0, 7], Gen.Int[1, 8], Gen.Bool);
        cases.Sample((states, candidateIndex, replicas, candidateListed) =>
        {
            var siblings = Siblings(states).ToList();
            var candidate = siblings[candidateIndex % siblings.Count].Id;
            if (!candidateListed)
            {
                siblings.RemoveAll(s => s.Id == candidate);
            }

            var (allowed, reason) = Replacement.CanReplace(candidate, siblings, replicas);

            Assert.False(string.IsNullOrWhiteSpace(reason));
            if (allowed)
            {
                var rest = siblings.Where(s => s.Id != candidate).ToArray();
                Assert.True(replicas < 2 || rest.Any(s => s.State == InstanceState.Ready), $"replacing {candidate} leaves no ready replica: {reason}");
                Assert.DoesNotContain(rest, s => Busy.Contains(s.State));
            }
            else
            {
                var rest = siblings.Where(s => s.Id != candidate).ToArray();
                var busy = rest.Any(s => Busy.Contains(s.State));
                var noOtherReady = replicas >= 2 && !rest.Any(s => s.State == InstanceState.Ready);
                Assert.True(busy || noOtherReady, $"refused without cause: {reason}");
            }
        }, iter: 10_000);
    }

    [Fact]
    public void TwoReplicas_OtherReady_IsAllowed()
    {
        var (allowed, reason) = Replacement.CanReplace("api-0", Siblings(InstanceState.Ready, InstanceState.Ready), 2);

        Assert.True(allowed);
        Assert.Equal("another replica is ready", reason);
    }

    [Theory]
    [InlineData(InstanceState.Unready)]
    [InlineData(InstanceState.Fatal)]
    [InlineData(InstanceState.Stopped)]
    public void TwoReplicas_OtherNotReady_IsRefused(InstanceState other)
    {
        var (allowed, reason) = Replacement.CanReplace("api-0", Siblings(InstanceState.Ready, other), 2);

        Assert.False(allowed);
        Assert.Equal("no other replica is ready", reason);
    }

    [Theory]
    [InlineData(InstanceState.Stopping)]
    [InlineData(InstanceState.Starting)]
    [InlineData(InstanceState.Backoff)]
    [InlineData(InstanceState.Running)]
    public void AnotherReplicaInFlight_IsRefused_OneAtATime(InstanceState other)
    {
        var (allowed, reason) = Replacement.CanReplace("api-0", Siblings(InstanceState.Ready, InstanceState.Ready, other), 3);

        Assert.False(allowed);
        Assert.Contains("api-2", reason, StringComparison.Ordinal);
        Assert.Contains("one replacement at a time", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void SingleReplica_IsAllowed_BeforeItFailsOutright()
    {
        var (allowed, reason) = Replacement.CanReplace("api-0", Siblings(InstanceState.Ready), 1);

        Assert.True(allowed);
        Assert.StartsWith("single replica", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void CandidateItself_InFlight_DoesNotBlockItsOwnReplacement()
    {
        var (allowed, _) = Replacement.CanReplace("api-0", Siblings(InstanceState.Running, InstanceState.Ready), 2);

        Assert.True(allowed);
    }
}
