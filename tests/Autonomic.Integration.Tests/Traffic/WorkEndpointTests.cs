using System.Diagnostics;
using Autonomic.Integration.Tests.Workloads;

namespace Autonomic.Integration.Tests.Traffic;

public sealed class WorkEndpointTests
{
    [Fact]
    public async Task Work_has_a_fixed_cost_and_slots_serialise_it()
    {
        await using var workload = await WorkloadProcess.StartAsync(["--port", "0", "--work-ms", "2", "--work-wait-ms", "18", "--work-slots", "1"]);
        using var http = workload.Client();
        using (var first = await http.GetAsync("/work"))
        {
            Assert.Equal(200, (int)first.StatusCode);
            Assert.StartsWith("worked instance=", await first.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // One slot of 20 ms: ten concurrent requests are served one after another, so the last ends after >= 200 ms.
        var watch = Stopwatch.StartNew();
        var answers = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => http.GetAsync("/work")));
        watch.Stop();
        Assert.All(answers, a => Assert.Equal(200, (int)a.StatusCode));
        Assert.True(watch.ElapsedMilliseconds >= 195, $"10 requests in {watch.ElapsedMilliseconds} ms");
        foreach (var a in answers)
        {
            a.Dispose();
        }
    }

    [Fact]
    public async Task A_bad_work_option_is_refused_with_exit_code_2()
    {
        await using var workload = await WorkloadProcess.StartAsync(["--work-ms", "lots"], waitListening: false);
        Assert.Equal(2, await workload.WaitForExitAsync(TimeSpan.FromSeconds(10)));
    }
}
