namespace Autonomic.Traffic;

/// <summary>
/// A fixed-bucket latency histogram: bucket bounds grow by 10% from 0.05 ms to about 2 minutes, so a
/// percentile read from it is within 5% of the true value. Not thread-safe; callers lock.
/// </summary>
public sealed class LatencyHistogram
{
    private const double Smallest = 0.05;
    private const double Growth = 1.1;
    private static readonly double[] Bounds = MakeBounds();
    private readonly long[] _counts = new long[Bounds.Length + 1];

    /// <summary>Recorded values.</summary>
    public long Count { get; private set; }

    /// <summary>Sum of the recorded values in milliseconds.</summary>
    public double SumMs { get; private set; }

    public void Record(double ms)
    {
        int i = Array.BinarySearch(Bounds, ms);
        i = i >= 0 ? i : ~i;
        _counts[i]++;
        Count++;
        SumMs += ms;
    }

    public void Clear()
    {
        Array.Clear(_counts);
        Count = 0;
        SumMs = 0;
    }

    /// <summary>The <paramref name="quantile"/> (0..1) in milliseconds, or 0 when nothing was recorded.</summary>
    public double Percentile(double quantile)
    {
        if (Count == 0)
        {
            return 0;
        }

        long rank = Math.Max(1, (long)Math.Ceiling(quantile * Count));
        long seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                // The geometric middle of the bucket: at most 5% from any value in it.
                double upper = i < Bounds.Length ? Bounds[i] : Bounds[^1] * Growth;
                double lower = i == 0 ? 0 : Bounds[i - 1];
                return i == 0 ? upper : Math.Sqrt(lower * upper);
            }
        }

        return Bounds[^1];
    }

    /// <summary>Adds another histogram's counts to this one.</summary>
    public void Add(LatencyHistogram other)
    {
        for (int i = 0; i < _counts.Length; i++)
        {
            _counts[i] += other._counts[i];
        }

        Count += other.Count;
        SumMs += other.SumMs;
    }

    private static double[] MakeBounds()
    {
        var bounds = new List<double>();
        for (double b = Smallest; b < 130_000; b *= Growth)
        {
            bounds.Add(b);
        }

        return [.. bounds];
    }
}
