namespace Autonomic.Core.Scaling;

/// <summary>Smoothing parameters of <see cref="HoltWinters"/>: level, trend and seasonal, each in [0, 1].</summary>
public sealed record HoltWintersParameters(double Alpha, double Beta, double Gamma)
{
    public static HoltWintersParameters Default { get; } = new(0.5, 0.1, 0.3);
}

/// <summary>
/// Additive Holt-Winters (triple exponential smoothing): level + trend + a seasonal component of
/// <see cref="SeasonLength"/> steps. <see cref="Fit"/> picks the parameters that minimise the one-step-ahead squared
/// error over a series by a coarse grid search; <see cref="Forecast"/> runs the smoother over a series and projects
/// <c>h</c> steps past its end. Pure: a series in, numbers out.
/// </summary>
public sealed class HoltWinters
{
    private static readonly double[] Grid = [0.05, 0.2, 0.4, 0.6, 0.8, 0.95];
    private static readonly double[] TrendGrid = [0.0, 0.02, 0.1, 0.3];

    public HoltWinters(int seasonLength, HoltWintersParameters? parameters = null)
    {
        if (seasonLength < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(seasonLength), seasonLength, "a season has at least 2 steps");
        }

        SeasonLength = seasonLength;
        Parameters = parameters ?? HoltWintersParameters.Default;
    }

    public int SeasonLength { get; }

    public HoltWintersParameters Parameters { get; private set; }

    /// <summary>Enough history for a forecast: two full seasons.</summary>
    public bool CanForecast(int count) => count >= 2 * SeasonLength;

    /// <summary>Chooses the parameters with the smallest one-step-ahead squared error on <paramref name="series"/>.</summary>
    public HoltWintersParameters Fit(IReadOnlyList<double> series)
    {
        ArgumentNullException.ThrowIfNull(series);
        if (!CanForecast(series.Count))
        {
            return Parameters;
        }

        double best = double.MaxValue;
        var chosen = Parameters;
        foreach (double a in Grid)
        {
            foreach (double b in TrendGrid)
            {
                foreach (double g in Grid)
                {
                    var p = new HoltWintersParameters(a, b, g);
                    double sse = Run(series, p, 1, out _);
                    if (sse < best)
                    {
                        best = sse;
                        chosen = p;
                    }
                }
            }
        }

        Parameters = chosen;
        return chosen;
    }

    /// <summary>The value <paramref name="steps"/> (≥ 1) steps after the last of <paramref name="series"/>.</summary>
    public double Forecast(IReadOnlyList<double> series, int steps)
    {
        ArgumentNullException.ThrowIfNull(series);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        if (!CanForecast(series.Count))
        {
            throw new InvalidOperationException($"Holt-Winters needs two seasons ({2 * SeasonLength} points), got {series.Count}");
        }

        Run(series, Parameters, steps, out double forecast);
        return forecast;
    }

    /// <summary>Smooths the series; returns the one-step-ahead squared error and the forecast h steps past the end.</summary>
    private double Run(IReadOnlyList<double> y, HoltWintersParameters p, int h, out double forecast)
    {
        int m = SeasonLength;
        // Initial level: the first season's mean; trend: the mean change between the first two seasons per step;
        // seasonal: the first season's deviations from its mean.
        double first = 0;
        double second = 0;
        for (int i = 0; i < m; i++)
        {
            first += y[i];
            second += y[m + i];
        }

        first /= m;
        second /= m;
        double level = first;
        double trend = (second - first) / m;
        var season = new double[m];
        for (int i = 0; i < m; i++)
        {
            season[i] = y[i] - first;
        }

        double sse = 0;
        for (int t = m; t < y.Count; t++)
        {
            double s = season[t % m];
            double predicted = level + trend + s;
            double error = y[t] - predicted;
            sse += error * error;
            double previousLevel = level;
            level = (p.Alpha * (y[t] - s)) + ((1 - p.Alpha) * (level + trend));
            trend = (p.Beta * (level - previousLevel)) + ((1 - p.Beta) * trend);
            season[t % m] = (p.Gamma * (y[t] - level)) + ((1 - p.Gamma) * s);
        }

        forecast = level + (h * trend) + season[(y.Count - 1 + h) % m];
        return sse;
    }
}
