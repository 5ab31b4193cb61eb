using Autonomic.Core.Scaling;

namespace Autonomic.Core.Tests.Scaling;

/// <summary>Holt-Winters forecasts, the predictive policy on a synthetic diurnal trace, and the queue scaler.</summary>
public sealed class PredictiveAndQueueTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void HoltWinters_ForecastsASeasonalSeriesWithTrend()
    {
        const int m = 24;
        var random = new Random(7);
        double Truth(int t) => 100 + (50 * Math.Sin(2 * Math.PI * t / m)) + (0.5 * t);
        var series = Enumerable.Range(0, 6 * m).Select(t => Truth(t) + ((random.NextDouble() - 0.5) * 4)).ToList();
        var model = new HoltWinters(m);
        model.Fit(series);
        double worst = 0;
        for (int h = 1; h <= m; h++)
        {
            double truth = Truth(series.Count - 1 + h);
            worst = Math.Max(worst, Math.Abs(model.Forecast(series, h) - truth) / truth);
        }

        Assert.True(worst < 0.06, $"worst relative error over the next season {worst:P1}");
    }

    [Fact]
    public void HoltWinters_NeedsTwoSeasons()
    {
        var model = new HoltWinters(4);
        Assert.False(model.CanForecast(7));
        Assert.Throws<InvalidOperationException>(() => model.Forecast([1, 2, 3, 4, 5, 6, 7], 1));
    }

    /// <summary>
    /// A diurnal trace: 20 req/s at night, a linear ramp to 200 req/s from 08:00 to 09:00, 200 until 18:00, a ramp
    /// down to 20 by 19:00; a little noise.
    /// </summary>
    private static double Diurnal(DateTimeOffset t, Random noise)
    {
        double h = (t - T0).TotalHours % 24;
        double rate = h switch
        {
            < 8 => 20,
            < 9 => 20 + (180 * (h - 8)),
            < 18 => 200,
            < 19 => 200 - (180 * (h - 18)),
            _ => 20,
        };
        return rate * (1 + ((noise.NextDouble() - 0.5) * 0.04));
    }

    private static (int Short, int Ticks, DateTimeOffset? FullAt, PredictivePolicy? Predictive) Simulate(IScalingPolicy policy, TimeSpan startTime)
    {
        var noise = new Random(11);
        var tick = TimeSpan.FromMinutes(1);
        int current = 2;
        int shortTicks = 0;
        int ramp = 0;
        DateTimeOffset? fullAt = null;
        for (var now = T0; now < T0.AddDays(4); now += tick)
        {
            double rps = Diurnal(now, noise);
            var d = policy.Decide(new ScalingInput
            {
                Service = "web",
                Now = now,
                CurrentReplicas = current,
                Traffic = new TrafficSample("web", now, rps, 5, 10, 0, 0, current),
            });
            current = d.To;
            double hour = (now - T0).TotalHours;
            // Judge the fourth day's morning ramp: the count decided now serves from now + start time.
            if (hour is >= 72 + 7.5 and < 72 + 9)
            {
                ramp++;
                double needed = Diurnal(now + startTime, new Random(0)) * 0.98;
                if (current * 10.0 < needed)
                {
                    shortTicks++;
                }

                if (current >= 18 && fullAt is null)
                {
                    fullAt = now;
                }
            }
        }

        return (shortTicks, ramp, fullAt, policy as PredictivePolicy);
    }

    [Fact]
    public void Predictive_ScalesAheadOfTheRamp_WhereReactiveLags()
    {
        var start = TimeSpan.FromMinutes(3);
        var bounds = new ScalingBounds { Min = 2, Max = 30 };
        var predictive = new PredictivePolicy(new PredictiveOptions
        {
            Bounds = bounds,
            CapacityPerReplica = 10,
            StartTime = start,
            Margin = TimeSpan.FromMinutes(1),
            Step = TimeSpan.FromMinutes(5),
            SeasonLength = 288,
        });
        var reactive = new HpaPolicy(new HpaPolicyOptions { Bounds = bounds, TargetRequestsPerReplica = 10 });

        var p = Simulate(predictive, start);
        var r = Simulate(reactive, start);

        Assert.NotNull(p.Predictive!.RecentError);
        Assert.True(p.Predictive.RecentError < 0.25, $"recent forecast error {p.Predictive.RecentError:P1}");
        Assert.True(r.Short > p.Ticks / 4, $"reactive was short on {r.Short} of {p.Ticks} ramp minutes");
        Assert.True(p.Short * 4 <= r.Short, $"predictive short on {p.Short}, reactive on {r.Short} of {p.Ticks} ramp minutes");
        Assert.NotNull(p.FullAt);
        Assert.NotNull(r.FullAt);
        Assert.True(p.FullAt < r.FullAt, $"predictive reached 20 replicas at {p.FullAt:HH:mm}, reactive at {r.FullAt:HH:mm}");
    }

    [Fact]
    public void Predictive_FallsBackToReactive_WhenTheForecastIsWrong()
    {
        var policy = new PredictivePolicy(new PredictiveOptions
        {
            Bounds = new ScalingBounds { Min = 1, Max = 50 },
            CapacityPerReplica = 10,
            Step = TimeSpan.FromMinutes(1),
            SeasonLength = 10,
            Parameters = new HoltWintersParameters(0.05, 0, 0.05),
        });
        int current = 1;
        ScalingDecision? last = null;
        var now = T0;
        // Thirty steps of a regular saw-tooth, then a jump the model cannot know.
        for (int i = 0; i < 45; i++, now = now.AddMinutes(1))
        {
            double rps = i < 30 ? 50 + (10 * (i % 10)) : 400;
            last = policy.Decide(new ScalingInput { Service = "web", Now = now, CurrentReplicas = current, Traffic = new TrafficSample("web", now, rps, 1, 1, 0, 0, current) });
            current = last.To;
        }

        Assert.True(policy.RecentError > 0.25, $"error {policy.RecentError:P0}");
        Assert.Contains("reactive only", last!.Reason, StringComparison.Ordinal);
        Assert.Equal(40, last.To); // the reactive answer: 400 / 10
    }

    [Fact]
    public void Queue_ActivatesOnTheFirstMessage_AndScalesToZeroAfterTheCooldown()
    {
        var policy = new QueuePolicy(new QueueOptions { Bounds = new ScalingBounds { Min = 0, Max = 10 }, TargetPerReplica = 5, Cooldown = TimeSpan.FromSeconds(60) });
        ScalingDecision Step(int seconds, int current, int depth, double? age = null) =>
            policy.Decide(new ScalingInput { Service = "jobs", Now = T0.AddSeconds(seconds), CurrentReplicas = current, QueueDepth = depth, OldestAgeSeconds = age });

        Assert.Equal(0, Step(0, 0, 0).To);
        var activated = Step(1, 0, 1);
        Assert.Equal(1, activated.To);
        Assert.Contains("activated", activated.Reason, StringComparison.Ordinal);
        Assert.Equal(4, Step(2, 1, 20).To); // ceil(20 / 5)
        Assert.Equal(4, Step(10, 4, 0).To); // idle, within the cooldown
        Assert.Equal(4, Step(61, 4, 0).To);
        var zero = Step(63, 4, 0);
        Assert.Equal(0, zero.To);
        Assert.Contains("idle", zero.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Queue_ActivationThreshold_AndOldestAgeBoost()
    {
        var policy = new QueuePolicy(new QueueOptions
        {
            Bounds = new ScalingBounds { Min = 0, Max = 20 },
            TargetPerReplica = 100,
            ActivationThreshold = 3,
            OldestAgeTarget = TimeSpan.FromSeconds(10),
        });
        Assert.Equal(0, policy.Decide(new ScalingInput { Service = "q", Now = T0, CurrentReplicas = 0, QueueDepth = 3 }).To);
        Assert.Equal(1, policy.Decide(new ScalingInput { Service = "q", Now = T0.AddSeconds(1), CurrentReplicas = 0, QueueDepth = 4 }).To);
        // 50 messages fit one replica, but the oldest has waited 30 s against a 10 s target: three times the replicas.
        var boosted = policy.Decide(new ScalingInput { Service = "q", Now = T0.AddSeconds(2), CurrentReplicas = 1, QueueDepth = 50, OldestAgeSeconds = 30 });
        Assert.Equal(3, boosted.To);
        Assert.Contains("oldest message", boosted.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Bounds_MaxStepAndCooldown()
    {
        var policy = new HpaPolicy(new HpaPolicyOptions
        {
            Bounds = new ScalingBounds { Min = 1, Max = 50, MaxStep = 2, ScaleUpCooldown = TimeSpan.FromSeconds(30) },
            TargetRequestsPerReplica = 10,
        });
        ScalingDecision At(int s, int current, double rps) => policy.Decide(new ScalingInput
        {
            Service = "web",
            Now = T0.AddSeconds(s),
            CurrentReplicas = current,
            Traffic = new TrafficSample("web", T0.AddSeconds(s), rps, 1, 1, 0, 0, current),
        });
        var first = At(0, 2, 200);
        Assert.Equal(4, first.To);
        Assert.Contains("max_step", first.Reason, StringComparison.Ordinal);
        var cooling = At(10, 4, 200);
        Assert.Equal(4, cooling.To);
        Assert.Contains("scale_up_cooldown", cooling.Reason, StringComparison.Ordinal);
        Assert.Equal(6, At(31, 4, 200).To);
    }
}
