using Autonomic.Core.Specs;

namespace Autonomic.Core.Scaling;

/// <summary>One suggestion of the optimization agent for a service, with what it would save per hour.</summary>
public sealed record Recommendation
{
    /// <summary><c>cpu</c>, <c>memory</c> (right-sizing a limit) or <c>idle</c> (scale down a service without traffic).</summary>
    public required string Kind { get; init; }
    public required string Detail { get; init; }
    public required string Current { get; init; }
    public required string Suggested { get; init; }
    public double SavingsPerHour { get; init; }
    /// <summary>True when auto_apply carried it out.</summary>
    public bool Applied { get; init; }
}

/// <summary>The cost of one service now, from its observed usage, and what could be changed.</summary>
public sealed record ServiceCost
{
    public required string Service { get; init; }
    public int Replicas { get; init; }
    /// <summary>95th percentile of CPU per instance over the window, in cores.</summary>
    public double? CpuCoresP95 { get; init; }
    /// <summary>95th percentile of resident memory per instance over the window.</summary>
    public long? RssBytesP95 { get; init; }
    public double? CpuLimit { get; init; }
    public long? MemoryLimitBytes { get; init; }
    /// <summary>Requests per second in the latest traffic sample.</summary>
    public double? RequestsPerSecond { get; init; }
    public double ReplicaPerHour { get; init; }
    public double CpuPerHour { get; init; }
    public double MemoryPerHour { get; init; }
    public double PerHour => ReplicaPerHour + CpuPerHour + MemoryPerHour;
    /// <summary>Accumulated since the agent started, from the samples it saw.</summary>
    public double SoFar { get; init; }
    public IReadOnlyList<Recommendation> Recommendations { get; init; } = [];
}

/// <summary>The optimization agent's report: cost per service, totals, and recommendations.</summary>
public sealed record CostReport
{
    public required DateTimeOffset At { get; init; }
    public required string Currency { get; init; }
    public CostSettings Prices { get; init; } = new();
    public IReadOnlyList<ServiceCost> Services { get; init; } = [];
    public double TotalPerHour => Services.Sum(s => s.PerHour);
    public double TotalSoFar => Services.Sum(s => s.SoFar);
    public double PossibleSavingsPerHour => Services.Sum(s => s.Recommendations.Sum(r => r.SavingsPerHour));
}

/// <summary>
/// The cost model and the right-sizing rules, pure: prices × observed usage, and limits sized to the observed p95 plus
/// headroom. A limit is lowered when the p95 with headroom is under half of it, raised when the p95 is above 90% of it.
/// </summary>
public static class CostModel
{
    private const double GiB = 1024.0 * 1024 * 1024;

    /// <summary>Cost per hour of <paramref name="replicas"/> replicas using these cores and bytes each.</summary>
    public static (double Replica, double Cpu, double Memory) PerHour(CostSettings prices, int replicas, double cpuCores, double rssBytes)
    {
        ArgumentNullException.ThrowIfNull(prices);
        return (
            replicas * prices.PerReplicaHour,
            replicas * cpuCores * 3600 * prices.PerCpuSecond,
            replicas * rssBytes / GiB * 3600 * prices.PerGbSecond);
    }

    /// <summary>The p-quantile (0..1) of the values by the nearest-rank method; null for none.</summary>
    public static double? Percentile(IReadOnlyCollection<double> values, double p)
    {
        if (values.Count == 0)
        {
            return null;
        }

        var sorted = values.Order().ToArray();
        int rank = (int)Math.Ceiling(p * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    /// <summary>A CPU limit suggestion, or null when the current one fits. Steps of 0.05 cores, at least 0.05.</summary>
    public static Recommendation? RightSizeCpu(CostSettings prices, int replicas, double? limit, double p95)
    {
        ArgumentNullException.ThrowIfNull(prices);
        double suggested = Math.Max(0.05, Math.Ceiling(p95 * (1 + prices.Headroom) / 0.05) * 0.05);
        suggested = Math.Round(suggested, 2);
        if (limit is not { } current)
        {
            return new Recommendation
            {
                Kind = "cpu",
                Detail = $"no CPU limit: p95 is {p95:0.###} cores; set limits.cpus to {suggested}",
                Current = "none",
                Suggested = suggested.ToString(System.Globalization.CultureInfo.InvariantCulture),
            };
        }

        if (suggested < current / 2 || p95 > current * 0.9)
        {
            // A limit is what a container runtime reserves: the saving is the reservation's CPU price.
            double savings = (current - suggested) * replicas * 3600 * prices.PerCpuSecond;
            return new Recommendation
            {
                Kind = "cpu",
                Detail = p95 > current * 0.9
                    ? $"p95 CPU {p95:0.###} cores is above 90% of the {current} limit: raise it"
                    : $"p95 CPU {p95:0.###} cores uses under half of the {current} limit: lower it",
                Current = current.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Suggested = suggested.ToString(System.Globalization.CultureInfo.InvariantCulture),
                SavingsPerHour = Math.Max(0, savings),
            };
        }

        return null;
    }

    /// <summary>A memory limit suggestion, or null when the current one fits. Multiples of 16 MiB, at least 32 MiB.</summary>
    public static Recommendation? RightSizeMemory(CostSettings prices, int replicas, long? limit, double p95Bytes)
    {
        ArgumentNullException.ThrowIfNull(prices);
        const long Step = 16L * 1024 * 1024;
        long suggested = Math.Max(2 * Step, (long)Math.Ceiling(p95Bytes * (1 + prices.Headroom) / Step) * Step);
        static string Mi(long bytes) => $"{bytes / (1024 * 1024)}Mi";
        if (limit is not { } current)
        {
            return new Recommendation
            {
                Kind = "memory",
                Detail = $"no memory limit: p95 is {Mi((long)p95Bytes)}; set limits.memory to {Mi(suggested)}",
                Current = "none",
                Suggested = Mi(suggested),
            };
        }

        if (suggested < current / 2 || p95Bytes > current * 0.9)
        {
            double savings = (current - suggested) / GiB * replicas * 3600 * prices.PerGbSecond;
            return new Recommendation
            {
                Kind = "memory",
                Detail = p95Bytes > current * 0.9
                    ? $"p95 memory {Mi((long)p95Bytes)} is above 90% of the {Mi(current)} limit: raise it"
                    : $"p95 memory {Mi((long)p95Bytes)} uses under half of the {Mi(current)} limit: lower it",
                Current = Mi(current),
                Suggested = Mi(suggested),
                SavingsPerHour = Math.Max(0, savings),
            };
        }

        return null;
    }

    /// <summary>Parses the <c>NNNMi</c> of a memory suggestion back to bytes.</summary>
    public static long MiBytes(string text) => long.Parse(text.TrimEnd('i', 'M'), System.Globalization.CultureInfo.InvariantCulture) * 1024 * 1024;
}
