using Autonomic.Core.Scaling;
using CsCheck;

namespace Autonomic.Core.Tests.Scaling;

/// <summary>Properties of the HPA and queue policies over random bounds and load sequences.</summary>
public sealed class ScalingPropertyTests
{
    private const int Iterations = 2_000;
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>(min, max, target per replica, maxStep).</summary>
    private static readonly Gen<(int Min, int Max, double Target, int MaxStep)> Bounds =
        Gen.Select(Gen.Int[0, 5], Gen.Int[1, 40], Gen.Double[1, 100], Gen.Int[0, 6], (min, extra, target, step) => (min, Math.Max(min, 1) + extra, target, step));

    /// <summary>(requests per second, seconds since the previous decision).</summary>
    private static readonly Gen<(double Rps, int Dt)[]> Loads = Gen.Select(Gen.Double[0, 5_000], Gen.Int[1, 120]).Array[1, 80];

    private static HpaPolicy Policy((int Min, int Max, double Target, int MaxStep) b) => new(new HpaPolicyOptions
    {
        Bounds = new ScalingBounds { Min = b.Min, Max = b.Max, MaxStep = b.MaxStep },
        TargetRequestsPerReplica = b.Target,
    });

    private static ScalingInput Input(DateTimeOffset now, int current, double rps) => new()
    {
        Service = "web",
        Now = now,
        CurrentReplicas = current,
        Traffic = new TrafficSample("web", now, rps, 1, 2, 0, 0, current),
    };

    [Fact]
    public void Hpa_AlwaysWithinMinAndMax()
    {
        Gen.Select(Bounds, Loads, Gen.Int[0, 60]).Sample((b, loads, start) =>
        {
            var policy = Policy(b);
            var now = T0;
            int current = start; // may start outside the bounds: the first decision corrects it
            foreach (var (rps, dt) in loads)
            {
                now = now.AddSeconds(dt);
                var d = policy.Decide(Input(now, current, rps));
                current = d.To;
                if (current < b.Min || current > b.Max)
                {
                    return false;
                }
            }

            return true;
        }, iter: Iterations);
    }

    [Fact]
    public void Hpa_NeverScalesDownWithinTheStabilizationWindowOfAScaleUp()
    {
        Gen.Select(Bounds, Loads).Sample((b, loads) =>
        {
            var policy = Policy(b);
            var now = T0;
            int current = Math.Max(b.Min, 1);
            DateTimeOffset? lastUp = null;
            foreach (var (rps, dt) in loads)
            {
                now = now.AddSeconds(dt);
                var d = policy.Decide(Input(now, current, rps));
                if (d.To > d.From)
                {
                    lastUp = now;
                }
                else if (d.To < d.From && lastUp is { } up && now - up < TimeSpan.FromSeconds(300))
                {
                    return false;
                }

                current = d.To;
            }

            return true;
        }, iter: Iterations);
    }

    [Fact]
    public void Hpa_MoreLoadNeverGivesFewerReplicasInOneStep()
    {
        Gen.Select(Bounds, Loads, Gen.Double[0, 5_000], Gen.Double[0, 5_000]).Sample((b, history, x, y) =>
        {
            var (low, high) = x <= y ? (x, y) : (y, x);
            var a = Policy(b);
            var c = Policy(b);
            var now = T0;
            int current = Math.Max(b.Min, 1);
            foreach (var (rps, dt) in history)
            {
                now = now.AddSeconds(dt);
                var input = Input(now, current, rps);
                current = a.Decide(input).To;
                c.Decide(input);
            }

            // Both policies have the same memory: they saw the same inputs.
            now = now.AddSeconds(15);
            return a.Decide(Input(now, current, low)).To <= c.Decide(Input(now, current, high)).To;
        }, iter: Iterations);
    }

    [Fact]
    public void Queue_AlwaysWithinMinAndMax_AndZeroOnlyWhenIdle()
    {
        var gen = Gen.Select(Gen.Int[0, 3], Gen.Int[1, 30], Gen.Select(Gen.Int[0, 500], Gen.Int[1, 200]).Array[1, 60]);
        gen.Sample((min, extra, steps) =>
        {
            var policy = new QueuePolicy(new QueueOptions { Bounds = new ScalingBounds { Min = min, Max = Math.Max(min, 1) + extra }, TargetPerReplica = 5, Cooldown = TimeSpan.FromSeconds(60) });
            var now = T0;
            int current = min;
            foreach (var (depth, dt) in steps)
            {
                now = now.AddSeconds(dt);
                var d = policy.Decide(new ScalingInput { Service = "q", Now = now, CurrentReplicas = current, QueueDepth = depth });
                current = d.To;
                if (current < min || current > Math.Max(min, 1) + extra || (current == 0 && depth > 0))
                {
                    return false;
                }
            }

            return true;
        }, iter: Iterations);
    }
}
