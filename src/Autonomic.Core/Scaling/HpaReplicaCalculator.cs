namespace Autonomic.Core.Scaling;

/// <summary>How the Kubernetes HPA counts a pod (replica) when it computes utilization.</summary>
public enum HpaPodState
{
    /// <summary>Ready and has a metric: counted.</summary>
    Ready,
    /// <summary>Not ready yet (pending, or within the CPU initialization period): set aside; 0% on a scale-up.</summary>
    Unready,
    /// <summary>No metric: set aside; 0% on a scale-up, 100% of its request (or of the target, if above 100%) on a scale-down.</summary>
    Missing,
    /// <summary>Being deleted or failed: not counted at all.</summary>
    Ignored,
}

/// <summary>One pod as the replica calculator sees it: its state, its CPU request and (if any) its usage, in millicores.</summary>
public sealed record HpaPod(HpaPodState State, long RequestMillicores, long? UsageMillicores = null);

/// <summary>The calculator's answer: the replica count it wants and the utilization it saw (whole percent of request).</summary>
public sealed record HpaResult(int DesiredReplicas, int Utilization, double UsageRatio, string Reason);

/// <summary>Why the calculator could not compute a count (the HPA reports these as FailedGetResourceMetric).</summary>
public sealed class HpaCalculationException(string message) : Exception(message);

/// <summary>
/// The replica calculation of the Kubernetes HorizontalPodAutoscaler (pkg/controller/podautoscaler/replica_calculator.go,
/// <c>GetResourceReplicas</c> and <c>GetExternalPerPodMetricReplicas</c>), reproduced step by step so the answers
/// match a cluster's: desired = ceil(current × currentMetric / target), nothing changes within the tolerance, pods
/// without metrics and unready pods are set aside and then counted conservatively, and a result that would reverse
/// the scale direction is dropped.
/// </summary>
public static class HpaReplicaCalculator
{
    /// <summary>The HPA's default tolerance (the controller's <c>--horizontal-pod-autoscaler-tolerance</c>).</summary>
    public const double DefaultTolerance = 0.1;

    /// <summary>
    /// True when the ratio is close enough to 1 that the HPA does not scale: 1 − tolerance ≤ ratio ≤ 1 + tolerance,
    /// written as the controller's <c>tolerances.isWithin</c> writes it (so a ratio of exactly 1.1 is within 0.1).
    /// </summary>
    public static bool IsWithinTolerance(double usageRatio, double tolerance) => 1.0 - tolerance <= usageRatio && usageRatio <= 1.0 + tolerance;

    /// <summary>
    /// Resource (CPU) utilization target: <paramref name="targetUtilization"/> percent of each pod's request.
    /// Throws <see cref="HpaCalculationException"/> when there are no pods, a counted pod has no request, or no
    /// ready pod has a metric.
    /// </summary>
    public static HpaResult ResourceReplicas(int currentReplicas, int targetUtilization, IReadOnlyList<HpaPod> pods, double tolerance = DefaultTolerance)
    {
        ArgumentNullException.ThrowIfNull(pods);
        if (targetUtilization <= 0)
        {
            throw new HpaCalculationException($"the target utilization must be above 0, got {targetUtilization}");
        }

        if (pods.Count == 0)
        {
            throw new HpaCalculationException("no pods returned by selector while calculating replica count");
        }

        // groupPods: ignored pods (deleted, failed) leave the calculation; unready and missing ones are set aside.
        var ready = new List<int>();
        var unready = new List<int>();
        var missing = new List<int>();
        for (int i = 0; i < pods.Count; i++)
        {
            var pod = pods[i];
            switch (pod.State)
            {
                case HpaPodState.Ignored:
                    continue;
                case HpaPodState.Unready:
                    unready.Add(i);
                    break;
                case HpaPodState.Missing:
                    missing.Add(i);
                    break;
                case HpaPodState.Ready when pod.UsageMillicores is null:
                    // A ready pod without a metric is a missing pod, as groupPods finds it.
                    missing.Add(i);
                    break;
                default:
                    ready.Add(i);
                    break;
            }

            if (pod.RequestMillicores <= 0)
            {
                throw new HpaCalculationException($"missing request for cpu in pod {i}");
            }
        }

        if (ready.Count == 0)
        {
            throw new HpaCalculationException("did not receive metrics for targeted pods (pods might be unready)");
        }

        // The metrics map: ready pods with their usage; the others are added below according to the direction.
        var metrics = ready.ToDictionary(i => i, i => pods[i].UsageMillicores!.Value);
        var (usageRatio, utilization) = UtilizationRatio(metrics, pods, targetUtilization);

        bool scaleUpWithUnready = unready.Count > 0 && usageRatio > 1.0;
        if (!scaleUpWithUnready && missing.Count == 0)
        {
            if (IsWithinTolerance(usageRatio, tolerance))
            {
                return new HpaResult(currentReplicas, utilization, usageRatio, "within tolerance");
            }

            return new HpaResult((int)Math.Ceiling(usageRatio * ready.Count), utilization, usageRatio, "ratio over ready pods");
        }

        if (missing.Count > 0)
        {
            if (usageRatio < 1.0)
            {
                // On a scale-down a pod without metrics counts as using all of its request (or the target, above 100%).
                long fallback = Math.Max(100, targetUtilization);
                foreach (int i in missing)
                {
                    metrics[i] = pods[i].RequestMillicores * fallback / 100;
                }
            }
            else if (usageRatio > 1.0)
            {
                foreach (int i in missing)
                {
                    metrics[i] = 0;
                }
            }
        }

        if (scaleUpWithUnready)
        {
            foreach (int i in unready)
            {
                metrics[i] = 0;
            }
        }

        var (newUsageRatio, _) = UtilizationRatio(metrics, pods, targetUtilization);
        if (IsWithinTolerance(newUsageRatio, tolerance))
        {
            return new HpaResult(currentReplicas, utilization, usageRatio, "within tolerance after counting unready and missing pods");
        }

        if ((usageRatio < 1.0 && newUsageRatio > 1.0) || (usageRatio > 1.0 && newUsageRatio < 1.0))
        {
            return new HpaResult(currentReplicas, utilization, usageRatio, "counting unready and missing pods reverses the scale direction");
        }

        int newReplicas = (int)Math.Ceiling(newUsageRatio * metrics.Count);
        if ((newUsageRatio < 1.0 && newReplicas > currentReplicas) || (newUsageRatio > 1.0 && newReplicas < currentReplicas))
        {
            return new HpaResult(currentReplicas, utilization, usageRatio, "the pod count reverses the scale direction");
        }

        return new HpaResult(newReplicas, utilization, usageRatio, "ratio over pods counted conservatively");
    }

    /// <summary>
    /// An external metric with an average-value target per replica (how KEDA and the HPA scale on a request rate or a
    /// queue length): desired = ceil(total / targetPerReplica) unless total / (target × current) is within tolerance.
    /// The utilization reported is the current average per replica as a percent of the target.
    /// </summary>
    public static HpaResult ExternalPerPodReplicas(int currentReplicas, double totalUsage, double targetPerReplica, double tolerance = DefaultTolerance)
    {
        if (targetPerReplica <= 0)
        {
            throw new HpaCalculationException($"the target per replica must be above 0, got {targetPerReplica}");
        }

        if (currentReplicas <= 0)
        {
            // The HPA does not act on a target scaled to zero; the queue scaler activates it.
            return new HpaResult(currentReplicas, 0, 0, "scaled to zero");
        }

        double usageRatio = totalUsage / (targetPerReplica * currentReplicas);
        int utilization = (int)Math.Round(100 * usageRatio);
        if (IsWithinTolerance(usageRatio, tolerance))
        {
            return new HpaResult(currentReplicas, utilization, usageRatio, "within tolerance");
        }

        return new HpaResult((int)Math.Ceiling(totalUsage / targetPerReplica), utilization, usageRatio, "total over target per replica");
    }

    /// <summary>
    /// metricsclient.GetResourceUtilizationRatio: sum(usage) / sum(request) as a whole percent (integer division, as
    /// Kubernetes does), and that percent over the target.
    /// </summary>
    private static (double Ratio, int Utilization) UtilizationRatio(Dictionary<int, long> metrics, IReadOnlyList<HpaPod> pods, int targetUtilization)
    {
        long usage = 0;
        long requests = 0;
        foreach (var (i, value) in metrics)
        {
            usage += value;
            requests += pods[i].RequestMillicores;
        }

        if (requests == 0)
        {
            throw new HpaCalculationException("no metrics returned matched known pods");
        }

        int utilization = (int)(usage * 100 / requests);
        return ((double)utilization / targetUtilization, utilization);
    }
}
