using Autonomic.Cli.Bench;

namespace Autonomic.Integration.Tests.Bench;

public class BenchDowntimeTests
{
    private static ProbeSample Ok(double sent, double done) => new(sent, done, true);

    private static ProbeSample Fail(double sent, double done) => new(sent, done, false);

    [Fact]
    public void Downtime_runs_from_first_failed_send_to_first_successful_completion()
    {
        ProbeSample[] samples =
        [
            Ok(90, 91),          // before the fault: ignored
            Ok(99, 101),         // in flight at the fault: ignored
            Fail(110, 111),
            Fail(120, 220),      // a timeout that completes late must not shorten or extend the outage
            Ok(130, 135),
            Ok(140, 141),
        ];
        var r = Downtime.Compute(samples, faultMs: 100);
        Assert.True(r.Recovered);
        Assert.Equal(25, r.DowntimeMs);
    }

    [Fact]
    public void No_success_after_the_failure_is_not_recovered()
    {
        var r = Downtime.Compute([Ok(100, 101), Fail(110, 210), Fail(220, 320)], faultMs: 100);
        Assert.False(r.Recovered);
        Assert.Null(r.DowntimeMs);
        Assert.False(Downtime.IsSettled([Fail(110, 210)], 100, 1000));
    }

    [Fact]
    public void A_success_before_the_first_failure_does_not_end_the_outage()
    {
        var r = Downtime.Compute([Ok(101, 102), Fail(111, 112), Ok(500, 503)], faultMs: 100);
        Assert.Equal(392, r.DowntimeMs);
        Assert.True(Downtime.IsSettled([Ok(101, 102), Fail(111, 112), Ok(500, 503)], 100, 1000));
    }

    [Fact]
    public void Only_successes_is_zero_downtime_once_quiet_long_enough()
    {
        Assert.Equal(0, Downtime.Compute([Ok(110, 111)], 100).DowntimeMs);
        Assert.False(Downtime.IsSettled([Ok(110, 111)], 100, quietMs: 1000));
        Assert.True(Downtime.IsSettled([Ok(110, 111), Ok(1100, 1101)], 100, quietMs: 1000));
    }
}
