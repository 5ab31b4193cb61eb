namespace Autonomic.Cli.Bench;

/// <summary>
/// Nearest-rank percentiles: the result is always one of the observed values, never an interpolation,
/// so a p99 over few trials is the worst trial rather than an invented number.
/// </summary>
public static class Percentile
{
    /// <summary>
    /// Returns the nearest-rank <paramref name="percentile"/> (0 &lt; p ≤ 100) of <paramref name="values"/>,
    /// or null when there are no values.
    /// </summary>
    public static double? NearestRank(IEnumerable<double> values, double percentile)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (percentile is <= 0 or > 100 || double.IsNaN(percentile))
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "Percentile must be in (0, 100].");
        }

        var sorted = values.Order().ToArray();
        if (sorted.Length == 0)
        {
            return null;
        }

        var rank = (int)Math.Ceiling(percentile / 100.0 * sorted.Length);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }
}
