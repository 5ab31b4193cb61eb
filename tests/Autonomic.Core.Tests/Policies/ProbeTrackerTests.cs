using Autonomic.Core.Policies;
using CsCheck;

namespace Autonomic.Core.Tests.Policies;

/// <summary>Consecutive-result thresholds of a probe.</summary>
public sealed class ProbeTrackerTests
{
    private static readonly DateTimeOffset T0 = LifecycleFixture.T0;

    [Fact]
    public void Verdict_FollowsConsecutiveRuns_ExactlyAtTheThresholds()
    {
        Gen.Select(Gen.Int[1, 6], Gen.Int[1, 6], Gen.Bool.Array[1, 100]).Sample((success, failure, results) =>
        {
            var tracker = ProbeTracker.Initial;
            var expected = ProbeVerdict.Unknown;
            int passRun = 0, failRun = 0;
            DateTimeOffset? firstFailure = null;
            for (var i = 0; i < results.Length; i++)
            {
                var at = T0.AddSeconds(i);
                var ok = results[i];
                passRun = ok ? passRun + 1 : 0;
                failRun = ok ? 0 : failRun + 1;
                firstFailure = ok ? null : firstFailure ?? at;
                var before = expected;
                if (passRun == success)
                {
                    expected = ProbeVerdict.Passing;
                }

                if (failRun == failure)
                {
                    expected = ProbeVerdict.Failing;
                }

                tracker = tracker.Observe(ok, success, failure, at);

                Assert.Equal(expected, tracker.Verdict);
                Assert.Equal(expected != before, tracker.Changed);
                Assert.Equal(firstFailure, tracker.FirstFailureAt);
            }
        }, iter: 3_000);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1, 3)]
    [InlineData(2, 3)]
    [InlineData(3, 5)]
    public void Passing_FlipsToFailing_AtFailureThreshold_AndBack_AtSuccessThreshold(int success, int failure)
    {
        var tracker = ProbeTracker.Initial;
        for (var i = 0; i < success; i++)
        {
            tracker = tracker.Observe(true, success, failure, T0);
        }

        Assert.Equal(ProbeVerdict.Passing, tracker.Verdict);

        for (var i = 1; i < failure; i++)
        {
            tracker = tracker.Observe(false, success, failure, T0.AddSeconds(i));
            Assert.Equal(ProbeVerdict.Passing, tracker.Verdict);
            Assert.False(tracker.Changed);
        }

        tracker = tracker.Observe(false, success, failure, T0.AddSeconds(failure));
        Assert.Equal(ProbeVerdict.Failing, tracker.Verdict);
        Assert.True(tracker.Changed);
        Assert.Equal(T0.AddSeconds(1), tracker.FirstFailureAt);

        for (var i = 1; i < success; i++)
        {
            tracker = tracker.Observe(true, success, failure, T0);
            Assert.Equal(ProbeVerdict.Failing, tracker.Verdict);
        }

        tracker = tracker.Observe(true, success, failure, T0);
        Assert.Equal(ProbeVerdict.Passing, tracker.Verdict);
        Assert.True(tracker.Changed);
        Assert.Null(tracker.FirstFailureAt);
    }

    [Fact]
    public void APassBetweenFailures_RestartsTheCount()
    {
        var tracker = ProbeTracker.Initial.Observe(true, 1, 3, T0);

        tracker = tracker.Observe(false, 1, 3, T0).Observe(false, 1, 3, T0).Observe(true, 1, 3, T0);
        tracker = tracker.Observe(false, 1, 3, T0).Observe(false, 1, 3, T0);

        Assert.Equal(ProbeVerdict.Passing, tracker.Verdict);
        Assert.Equal(2, tracker.Failures);
    }
}
