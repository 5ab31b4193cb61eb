using Autonomic.Core.Policies;
using Autonomic.Core.Specs;
using CsCheck;

namespace Autonomic.Core.Tests.Policies;

/// <summary>Trend detection: the least-squares fit, time to the memory limit, and the degradation verdict.</summary>
public sealed class TrendsTests
{
    private const long MiB = 1024 * 1024;
    private static readonly DateTimeOffset T0 = LifecycleFixture.T0;

    private static TrendPoint[] Memory(int samples, Func<int, double> rssMiB, double stepSeconds = 1) =>
        Enumerable.Range(0, samples).Select(i => new TrendPoint(T0.AddSeconds(i * stepSeconds), (long)(rssMiB(i) * MiB), null)).ToArray();

    private static TrendPoint[] Latency(params double[] ms) =>
        ms.Select((l, i) => new TrendPoint(T0.AddSeconds(i), 100 * MiB, l)).ToArray();

    private static ServiceSpec Spec(long? memoryLimit = null, TimeSpan? latencyLimit = null) => new()
    {
        Name = "api",
        Command = "api",
        Limits = new ResourceLimits { MemoryBytes = memoryLimit },
        Trends = new TrendPolicy { LeakHorizon = TimeSpan.FromSeconds(60), LatencyLimit = latencyLimit, MinSamples = 6 },
    };

    [Theory]
    [InlineData(3, 7)]
    [InlineData(-2.5, 100)]
    [InlineData(10_485_760, 52_428_800)]
    public void Fit_OnAnExactLine_RecoversSlopeAndIntercept_WithRSquaredOne(double slope, double intercept)
    {
        var points = Enumerable.Range(0, 20).Select(i => ((double)i, intercept + (slope * i))).ToArray();

        var fit = Trends.Fit(points);

        Assert.Equal(slope, fit.Slope, 1e-9 * Math.Abs(slope));
        Assert.Equal(intercept, fit.Intercept, 1e-6 * Math.Max(1, Math.Abs(intercept)));
        Assert.Equal(1, fit.RSquared, 1e-12);
    }

    [Fact]
    public void Fit_OnRandomExactLines_HasRSquaredOne()
    {
        // Slopes of either sign from 0.01 to 1e6, so the line is not lost in the rounding of a large intercept.
        var slopes = Gen.Select(Gen.Double[-2, 6], Gen.Bool, (exponent, negative) => (negative ? -1 : 1) * Math.Pow(10, exponent));
        Gen.Select(slopes, Gen.Double[-1e6, 1e6], Gen.Int[2, 40]).Sample((slope, intercept, n) =>
        {
            var points = Enumerable.Range(0, n).Select(i => (i * 0.5, intercept + (slope * i * 0.5))).ToArray();
            var fit = Trends.Fit(points);
            Assert.Equal(slope, fit.Slope, 1e-6 * Math.Abs(slope));
            Assert.Equal(1, fit.RSquared, 1e-6);
        }, iter: 2_000);
    }

    [Fact]
    public void Fit_OfDegenerateInput_HasNoSlope()
    {
        Assert.Equal((0, 0, 0), Trends.Fit([]));
        Assert.Equal((0, 5, 0), Trends.Fit([(1, 5)]));
        Assert.Equal((0, 4, 0), Trends.Fit([(1, 3), (1, 5)]));
    }

    [Fact]
    public void TimeToMemoryLimit_OfASteadyLeak_IsPredicted()
    {
        // 10 MiB/s from 100 MiB: 190 MiB after 9 s, so 256 MiB is 6.6 s away.
        var window = Memory(10, i => 100 + (10 * i));

        var ttl = Trends.TimeToMemoryLimit(window, 256 * MiB, minSamples: 6);

        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value.TotalSeconds, 6.6 * 0.95, 6.6 * 1.05);
    }

    [Fact]
    public void TimeToMemoryLimit_OfANoisyLeak_IsPredictedWithinFivePercent()
    {
        var noise = new Random(42);
        var window = Memory(30, i => 20 + (10 * i * 0.5) + (noise.NextDouble() - 0.5), stepSeconds: 0.5);

        var ttl = Trends.TimeToMemoryLimit(window, 256 * MiB, minSamples: 6);

        // 10 MiB/s: 20 + 10 * 14.5 = 165 MiB now, so (256 - 165) / 10 = 9.1 s.
        Assert.NotNull(ttl);
        Assert.InRange(ttl.Value.TotalSeconds, 9.1 * 0.95, 9.1 * 1.05);
    }

    [Fact]
    public void TimeToMemoryLimit_AlreadyOverTheLimit_IsZero()
    {
        var window = Memory(10, i => 250 + i);

        Assert.Equal(TimeSpan.Zero, Trends.TimeToMemoryLimit(window, 256 * MiB, 6));
    }

    [Fact]
    public void TimeToMemoryLimit_OfAFlatSeries_IsNull()
    {
        Assert.Null(Trends.TimeToMemoryLimit(Memory(30, _ => 120), 256 * MiB, 6));
    }

    [Fact]
    public void TimeToMemoryLimit_OfAShrinkingSeries_IsNull()
    {
        Assert.Null(Trends.TimeToMemoryLimit(Memory(30, i => 200 - i), 256 * MiB, 6));
    }

    [Fact]
    public void TimeToMemoryLimit_OfNoiseWithoutTrend_IsNull()
    {
        var noise = new Random(7);

        Assert.Null(Trends.TimeToMemoryLimit(Memory(30, _ => 100 + (40 * noise.NextDouble())), 256 * MiB, 6));
    }

    [Fact]
    public void TimeToMemoryLimit_WithTooFewSamples_IsNull()
    {
        Assert.Null(Trends.TimeToMemoryLimit(Memory(5, i => 100 + (10 * i)), 256 * MiB, 6));
    }

    [Fact]
    public void MedianLatency_IsTheLowerMiddle_AndNeedsEnoughSamples()
    {
        Assert.Equal(30, Trends.MedianLatencyMs(Latency(50, 10, 30, 20, 40), 5));
        Assert.Equal(20, Trends.MedianLatencyMs(Latency(40, 10, 30, 20), 4));
        Assert.Null(Trends.MedianLatencyMs(Latency(40, 10, 30), 4));
    }

    [Fact]
    public void Assess_SteadyLeak_IsALeak_WithEvidence()
    {
        var window = Memory(10, i => 100 + (10 * i));

        var d = Trends.Assess(window, Spec(memoryLimit: 256 * MiB));

        Assert.NotNull(d);
        Assert.Equal("leak", d.Cause);
        Assert.Equal(["limit_bytes", "rss_bytes", "samples", "seconds_to_limit"], d.Evidence.Keys.Order(StringComparer.Ordinal));
        Assert.Equal((190 * MiB).ToString(System.Globalization.CultureInfo.InvariantCulture), d.Evidence["rss_bytes"]);
        Assert.Equal("6.6", d.Evidence["seconds_to_limit"]);
        Assert.Equal("10", d.Evidence["samples"]);
        Assert.Contains("256 MiB", d.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Assess_LeakBeyondTheHorizon_IsNothing()
    {
        // 1 MiB/s with 150 MiB to go: 150 s, beyond the 60 s horizon.
        var window = Memory(10, i => 97 + i);

        Assert.Null(Trends.Assess(window, Spec(memoryLimit: 256 * MiB)));
    }

    [Fact]
    public void Assess_LeakWithoutAMemoryLimit_IsNothing()
    {
        Assert.Null(Trends.Assess(Memory(10, i => 100 + (10 * i)), Spec()));
    }

    [Fact]
    public void Assess_SlowProbes_IsLatency_WithEvidence()
    {
        var window = Latency(300, 450, 500, 520, 480, 610);

        var d = Trends.Assess(window, Spec(memoryLimit: 256 * MiB, latencyLimit: TimeSpan.FromMilliseconds(250)));

        Assert.NotNull(d);
        Assert.Equal("latency", d.Cause);
        Assert.Equal(["latency_ms_p50", "limit_ms", "samples"], d.Evidence.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("480.0", d.Evidence["latency_ms_p50"]);
        Assert.Equal("250", d.Evidence["limit_ms"]);
    }

    [Fact]
    public void Assess_FastProbes_FlatMemory_IsNothing()
    {
        var window = Latency(20, 25, 30, 22, 21, 300);

        Assert.Null(Trends.Assess(window, Spec(memoryLimit: 256 * MiB, latencyLimit: TimeSpan.FromMilliseconds(250))));
    }

    [Fact]
    public void Assess_LeakAndSlowProbes_ReportsTheLeakFirst()
    {
        var window = Enumerable.Range(0, 10).Select(i => new TrendPoint(T0.AddSeconds(i), (100 + (10 * i)) * MiB, 900)).ToArray();

        var d = Trends.Assess(window, Spec(memoryLimit: 256 * MiB, latencyLimit: TimeSpan.FromMilliseconds(250)));

        Assert.Equal("leak", d?.Cause);
    }
}
