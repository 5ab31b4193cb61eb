using Autonomic.Cli.Bench;

namespace Autonomic.Integration.Tests.Bench;

public class BenchPercentileTests
{
    [Fact]
    public void Empty_input_has_no_percentile() =>
        Assert.Null(Percentile.NearestRank([], 50));

    [Fact]
    public void Single_value_is_every_percentile()
    {
        Assert.Equal(7, Percentile.NearestRank([7], 1));
        Assert.Equal(7, Percentile.NearestRank([7], 50));
        Assert.Equal(7, Percentile.NearestRank([7], 100));
    }

    [Theory]
    [InlineData(50, 3)] // rank ceil(2.5) = 3
    [InlineData(20, 1)] // rank ceil(1.0) = 1
    [InlineData(21, 2)]
    [InlineData(99, 5)]
    [InlineData(100, 5)]
    public void Nearest_rank_picks_an_observed_value_regardless_of_input_order(double p, double expected) =>
        Assert.Equal(expected, Percentile.NearestRank([5, 1, 4, 2, 3], p));

    [Fact]
    public void P99_of_a_hundred_values_is_the_ninety_ninth()
    {
        var values = Enumerable.Range(1, 100).Select(i => (double)i).Reverse();
        Assert.Equal(99, Percentile.NearestRank(values, 99));
        Assert.Equal(50, Percentile.NearestRank(values, 50));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(100.5)]
    public void Out_of_range_percentile_is_rejected(double p) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Percentile.NearestRank([1, 2], p));
}
