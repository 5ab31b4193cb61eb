using Autonomic.Core.Scaling;

namespace Autonomic.Core.Tests.Scaling;

/// <summary>The HPA controller's behavior: stabilization windows, rate policies, selectPolicy, with the Kubernetes defaults.</summary>
public sealed class HpaBehaviorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void ScaleDownStabilization_KeepsTheHighestRecommendationOfTheWindow()
    {
        var b = new HpaBehavior();
        Assert.Equal(10, b.Normalize(T0, 10, 10, 1, 20).Replicas);
        var held = b.Normalize(T0.AddSeconds(60), 10, 4, 1, 20);
        Assert.Equal(10, held.Replicas);
        Assert.Equal("ScaleDownStabilized", held.Reason);
        // A recommendation of 7 in the window keeps the count at 7 once the 10 has aged out.
        b.Normalize(T0.AddSeconds(200), 10, 7, 1, 20);
        Assert.Equal(10, b.Normalize(T0.AddSeconds(299), 10, 4, 1, 20).Replicas);
        Assert.Equal(7, b.Normalize(T0.AddSeconds(301), 10, 4, 1, 20).Replicas);
        // 300 s after the 7, only 4s are left.
        Assert.Equal(4, b.Normalize(T0.AddSeconds(501), 7, 4, 1, 20).Replicas);
    }

    [Fact]
    public void ScaleUp_IsImmediate_ByDefault()
    {
        var b = new HpaBehavior();
        b.Normalize(T0, 4, 2, 1, 20);
        Assert.Equal(8, b.Normalize(T0.AddSeconds(1), 4, 8, 1, 20).Replicas);
    }

    [Fact]
    public void DefaultScaleUpPolicies_FourPodsOrDoubleEvery15s_WhicheverIsMore()
    {
        var b = new HpaBehavior();
        var small = b.Normalize(T0, 1, 20, 1, 100);
        Assert.Equal(5, small.Replicas); // max(1 + 4, ceil(1 × 2))
        Assert.Equal("ScaleUpLimit", small.Reason);
        var big = new HpaBehavior();
        Assert.Equal(20, big.Normalize(T0, 10, 50, 1, 100).Replicas); // max(14, 20)
        big.RecordScale(T0, 10, 20);
        // Within the same 15 s period the period started at 10: the limit is still 20.
        Assert.Equal(20, big.Normalize(T0.AddSeconds(5), 20, 50, 1, 100).Replicas);
        // A new period starts from 20: up to 40.
        Assert.Equal(40, big.Normalize(T0.AddSeconds(16), 20, 50, 1, 100).Replicas);
    }

    [Fact]
    public void MaxReplicas_LimitsWithTooManyReplicas()
    {
        var n = new HpaBehavior().Normalize(T0, 4, 50, 1, 6);
        Assert.Equal(6, n.Replicas);
        Assert.Equal("TooManyReplicas", n.Reason);
    }

    [Theory]
    // The documentation's example: Pods 4 per 60 s and Percent 10 per 60 s. With Max, the percent policy only
    // applies above 40 replicas; with Min, the smaller change wins.
    [InlineData(HpaSelectPolicy.Max, 80, 72)]
    [InlineData(HpaSelectPolicy.Max, 30, 26)]
    [InlineData(HpaSelectPolicy.Min, 80, 76)]
    [InlineData(HpaSelectPolicy.Min, 30, 27)]
    [InlineData(HpaSelectPolicy.Disabled, 30, 30)]
    public void ScaleDownPolicies_SelectPolicy(HpaSelectPolicy select, int current, int expected)
    {
        var down = new HpaScalingRules
        {
            StabilizationWindowSeconds = 0,
            SelectPolicy = select,
            Policies = [new(HpaPolicyType.Pods, 4, 60), new(HpaPolicyType.Percent, 10, 60)],
        };
        var b = new HpaBehavior(scaleDown: down);
        Assert.Equal(expected, b.Normalize(T0, current, 1, 1, 100).Replicas);
    }

    [Fact]
    public void ScaleDownRate_CountsEarlierScaleDownsOfThePeriod()
    {
        var down = new HpaScalingRules { StabilizationWindowSeconds = 0, Policies = [new(HpaPolicyType.Pods, 2, 60)] };
        var b = new HpaBehavior(scaleDown: down);
        Assert.Equal(8, b.Normalize(T0, 10, 1, 1, 100).Replicas);
        b.RecordScale(T0, 10, 8);
        Assert.Equal(8, b.Normalize(T0.AddSeconds(30), 8, 1, 1, 100).Replicas);
        Assert.Equal(6, b.Normalize(T0.AddSeconds(61), 8, 1, 1, 100).Replicas);
    }

    [Fact]
    public void MinReplicas_LimitsScaleDown()
    {
        var n = new HpaBehavior(scaleDown: HpaScalingRules.DefaultScaleDown with { StabilizationWindowSeconds = 0 }).Normalize(T0, 5, 0, 2, 10);
        Assert.Equal(2, n.Replicas);
        Assert.Equal("TooFewReplicas", n.Reason);
    }
}
