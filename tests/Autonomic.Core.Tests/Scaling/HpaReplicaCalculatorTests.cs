using Autonomic.Core.Scaling;

namespace Autonomic.Core.Tests.Scaling;

/// <summary>
/// The Kubernetes HPA's replica calculation: the worked examples of the HorizontalPodAutoscaler documentation and
/// the scenarios of replica_calculator_test.go (pod counts, requests, usage, expected replicas and utilization).
/// </summary>
public sealed class HpaReplicaCalculatorTests
{
    private static HpaPod Ready(long usage, long request = 1000) => new(HpaPodState.Ready, request, usage);

    private static HpaPod Unready(long usage, long request = 1000) => new(HpaPodState.Unready, request, usage);

    private static HpaPod Missing(long request = 1000) => new(HpaPodState.Missing, request);

    private static HpaPod Ignored(long usage = 0, long request = 1000) => new(HpaPodState.Ignored, request, usage);

    [Fact]
    public void Docs_CurrentTwiceTheTarget_DoublesReplicas()
    {
        // "if the current metric value is 200m, and the desired value is 100m, the number of replicas will be doubled"
        var r = HpaReplicaCalculator.ResourceReplicas(2, 100, [Ready(200, 100), Ready(200, 100)]);
        Assert.Equal(4, r.DesiredReplicas);
        Assert.Equal(200, r.Utilization);
    }

    [Fact]
    public void Docs_CurrentHalfTheTarget_HalvesReplicas()
    {
        // "If the current value is instead 50m, you'll halve the number of replicas"
        var pods = Enumerable.Range(0, 4).Select(_ => Ready(50, 100)).ToList();
        var r = HpaReplicaCalculator.ResourceReplicas(4, 100, pods);
        Assert.Equal(2, r.DesiredReplicas);
        Assert.Equal(50, r.Utilization);
    }

    [Theory]
    [InlineData(3, 150, 100, 5)] // ratio 1.5: ceil(4.5)
    [InlineData(4, 150, 100, 6)] // ratio 1.5: 6
    [InlineData(2, 75, 50, 3)]   // ratio 1.5 again, other target
    public void RatioOnePointFive_GivesCeilOfOneAndAHalfTimes(int replicas, long usage, int target, int expected)
    {
        var pods = Enumerable.Range(0, replicas).Select(_ => Ready(usage, 100)).ToList();
        Assert.Equal(expected, HpaReplicaCalculator.ResourceReplicas(replicas, target, pods).DesiredReplicas);
    }

    [Theory]
    [InlineData(109, 3)] // ratio 1.09: within 0.1
    [InlineData(110, 3)] // ratio 1.10: the tolerance is inclusive
    [InlineData(111, 4)] // ratio 1.11: ceil(3.33)
    [InlineData(90, 3)]
    [InlineData(89, 3)] // ratio 0.89 -> ceil(2.67) = 3: outside the tolerance, yet the same count
    [InlineData(112, 4)]
    [InlineData(60, 2)]
    public void Tolerance_SkipsSmallChanges(long usage, int expected)
    {
        var pods = Enumerable.Range(0, 3).Select(_ => Ready(usage, 100)).ToList();
        Assert.Equal(expected, HpaReplicaCalculator.ResourceReplicas(3, 100, pods).DesiredReplicas);
    }

    [Fact]
    public void K8s_ScaleUp()
    {
        // TestReplicaCalcScaleUp: 3 pods at 300, 500, 700 of 1000 requested, target 30% -> 5 replicas, 50%.
        var r = HpaReplicaCalculator.ResourceReplicas(3, 30, [Ready(300), Ready(500), Ready(700)]);
        Assert.Equal(5, r.DesiredReplicas);
        Assert.Equal(50, r.Utilization);
    }

    [Fact]
    public void K8s_ScaleUpUnreadyLessScale()
    {
        // TestReplicaCalcScaleUpUnreadyLessScale: the unready pod counts as 0% on a scale-up -> 4, not 6.
        var r = HpaReplicaCalculator.ResourceReplicas(3, 30, [Unready(300), Ready(500), Ready(700)]);
        Assert.Equal(4, r.DesiredReplicas);
        Assert.Equal(60, r.Utilization);
    }

    [Fact]
    public void K8s_ScaleUpUnreadyNoScale_ReversalRule()
    {
        // TestReplicaCalcScaleUpUnreadyNoScale: 40% on the ready pod wants a scale-up, but with the two unready pods at
        // 0% the ratio falls below 1 -> the direction reverses -> no change.
        var r = HpaReplicaCalculator.ResourceReplicas(3, 30, [Ready(400), Unready(500), Unready(700)]);
        Assert.Equal(3, r.DesiredReplicas);
        Assert.Equal(40, r.Utilization);
        Assert.Contains("reverses", r.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void K8s_ScaleDown()
    {
        // TestReplicaCalcScaleDown: 5 pods, 1400 of 5000 -> 28%, target 50% -> ceil(0.56 × 5) = 3.
        var r = HpaReplicaCalculator.ResourceReplicas(5, 50, [Ready(100), Ready(300), Ready(500), Ready(250), Ready(250)]);
        Assert.Equal(3, r.DesiredReplicas);
        Assert.Equal(28, r.Utilization);
    }

    [Fact]
    public void K8s_ScaleDownIncludeUnreadyPods_UnreadyAreLeftOutOnScaleDown()
    {
        // TestReplicaCalcScaleDownIncludeUnreadyPods: the ready three use 30% of target 50 -> ceil(0.6 × 3) = 2.
        var r = HpaReplicaCalculator.ResourceReplicas(5, 50, [Ready(100), Ready(300), Ready(500), Unready(250), Unready(250)]);
        Assert.Equal(2, r.DesiredReplicas);
        Assert.Equal(30, r.Utilization);
    }

    [Fact]
    public void K8s_Tolerance()
    {
        // TestReplicaCalcTolerance: 3060 of 3000 -> 102%, within tolerance of 100%.
        var r = HpaReplicaCalculator.ResourceReplicas(3, 100, [Ready(1010, 900), Ready(1030, 1000), Ready(1020, 1100)]);
        Assert.Equal(3, r.DesiredReplicas);
        Assert.Equal(102, r.Utilization);
    }

    [Fact]
    public void K8s_MissingMetricsNoChangeLt_MissingCountAsFullRequestOnScaleDown()
    {
        // TestReplicaCalcMissingMetricsNoChangeLt: 95% on one pod, the other missing counts as 100% -> 97.5%, within tolerance.
        var r = HpaReplicaCalculator.ResourceReplicas(2, 100, [Ready(1900, 2000), Missing(2000)]);
        Assert.Equal(2, r.DesiredReplicas);
        Assert.Equal(95, r.Utilization);
    }

    [Fact]
    public void MissingMetrics_ScaleDown_CountedAsFullRequest()
    {
        // Without the fallback, 10% over 2 pods of target 50 would give ceil(0.2 × 2) = 1 (of 4). With the two missing
        // pods at 100% of request: (200 + 2000) / 4000 = 55% -> ratio 1.1: within tolerance -> keep 4.
        var r = HpaReplicaCalculator.ResourceReplicas(4, 50, [Ready(100), Ready(100), Missing(), Missing()]);
        Assert.Equal(4, r.DesiredReplicas);
        Assert.Equal(10, r.Utilization);
    }

    [Fact]
    public void MissingMetrics_ScaleDownTargetOver100_CountedAsTarget()
    {
        // TestReplicaCalcMissingMetricsScaleDownTargetOver100's shape: with a 300% target, missing pods count as 300%
        // of request: (300 + 12000) / 8000 = 153% -> ratio 0.51 -> ceil(0.51 × 4) = 3.
        var r = HpaReplicaCalculator.ResourceReplicas(4, 300, [Ready(200, 2000), Ready(100, 2000), Missing(2000), Missing(2000)]);
        Assert.Equal(3, r.DesiredReplicas);
    }

    [Fact]
    public void MissingMetrics_ScaleUp_CountedAsZero()
    {
        // 80% on two ready pods of target 50 (ratio 1.6) with two missing at 0%: 1600 / 4000 = 40% -> ratio 0.8 reverses -> keep.
        var keep = HpaReplicaCalculator.ResourceReplicas(4, 50, [Ready(800), Ready(800), Missing(), Missing()]);
        Assert.Equal(4, keep.DesiredReplicas);
        // At 100% (ratio 2), 2000 / 4000 = 50%: exactly the target, within tolerance -> keep.
        var keep2 = HpaReplicaCalculator.ResourceReplicas(4, 50, [Ready(1000), Ready(1000), Missing(), Missing()]);
        Assert.Equal(4, keep2.DesiredReplicas);
        // At 100% of target 30 (ratio 3.33): 2000 / 4000 = 50% -> ratio 1.67 -> ceil(1.67 × 4) = 7.
        var up = HpaReplicaCalculator.ResourceReplicas(4, 30, [Ready(1000), Ready(1000), Missing(), Missing()]);
        Assert.Equal(7, up.DesiredReplicas);
    }

    [Fact]
    public void K8s_ScaleUpIgnoresFailedPods()
    {
        // TestReplicaCalcScaleUpIgnoresFailedPods: two failed pods leave the calculation entirely -> 4, 60%.
        var r = HpaReplicaCalculator.ResourceReplicas(2, 30, [Ready(500), Ready(700), Ignored(), Ignored()]);
        Assert.Equal(4, r.DesiredReplicas);
        Assert.Equal(60, r.Utilization);
    }

    [Fact]
    public void Utilization_IsAWholePercentTruncated()
    {
        // 2 / 3 of request is 66.67%: Kubernetes' integer division reports 66, and the ratio uses 66.
        var r = HpaReplicaCalculator.ResourceReplicas(3, 33, [Ready(200, 300), Ready(200, 300), Ready(200, 300)]);
        Assert.Equal(66, r.Utilization);
        Assert.Equal(6, r.DesiredReplicas);
    }

    [Fact]
    public void Errors_NoPods_NoReadyMetrics_NoRequest()
    {
        Assert.Throws<HpaCalculationException>(() => HpaReplicaCalculator.ResourceReplicas(1, 50, []));
        var none = Assert.Throws<HpaCalculationException>(() => HpaReplicaCalculator.ResourceReplicas(2, 50, [Unready(100), Missing()]));
        Assert.Contains("did not receive metrics", none.Message, StringComparison.Ordinal);
        var request = Assert.Throws<HpaCalculationException>(() => HpaReplicaCalculator.ResourceReplicas(1, 50, [Ready(100, 0)]));
        Assert.Contains("missing request", request.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2, 100, 50, 2)]  // exactly on target
    [InlineData(2, 105, 50, 2)]  // within tolerance
    [InlineData(2, 150, 50, 3)]
    [InlineData(4, 30, 50, 1)]
    [InlineData(1, 1000, 50, 20)]
    public void ExternalPerPod_IsCeilOfTotalOverTarget(int current, double total, double target, int expected) =>
        Assert.Equal(expected, HpaReplicaCalculator.ExternalPerPodReplicas(current, total, target).DesiredReplicas);
}
