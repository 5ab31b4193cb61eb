using System.Text.Json;
using Autonomic.Cli.Bench;

namespace Autonomic.Integration.Tests.Security;

public sealed class SecurityBenchSmokeTests
{
    [Fact]
    public async Task BenchSecurity_OnTheTinyExcerpts_WritesEveryPart()
    {
        var result = await SecurityBenchmark.RunAsync(SecurityData.Dir, TimeSpan.FromMilliseconds(100), TextWriter.Null, CancellationToken.None);
        using var json = JsonDocument.Parse(SecurityBenchmark.ToJson(result));
        var root = json.RootElement;

        var ours = root.GetProperty("ssh").GetProperty("autonomic_ips").EnumerateArray().Select(e => e.GetString()!).ToHashSet();
        Assert.Contains("187.141.143.180", ours);
        if (SecurityData.Fail2banInstalled)
        {
            var theirs = root.GetProperty("ssh").GetProperty("fail2ban_ips").EnumerateArray().Select(e => e.GetString()!).ToList();
            Assert.NotEmpty(theirs);
            Assert.All(theirs, ip => Assert.Contains(ip, ours));
        }

        var scanners = root.GetProperty("scanners").EnumerateArray().ToList();
        Assert.Equal(2, scanners.Count);
        Assert.All(scanners, s =>
        {
            Assert.True(s.GetProperty("classified").GetInt32() >= 0.95 * s.GetProperty("requests").GetInt32());
            Assert.True(s.GetProperty("source_detected").GetBoolean());
        });
        var benign = root.GetProperty("benign").EnumerateArray().ToList();
        Assert.Equal(2, benign.Count);
        Assert.All(benign, b => Assert.Equal(300, b.GetProperty("lines").GetInt32()));
        Assert.True(root.GetProperty("lines_per_s").GetDouble() > 0);
        Assert.Contains("| acunetix.txt |", SecurityBenchmark.ToMarkdown(result), StringComparison.Ordinal);
    }
}
