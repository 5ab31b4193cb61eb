using Autonomic.Backends.Runtime;
using Autonomic.Core.Abstractions;

namespace Autonomic.Integration.Tests.Runtime;

public sealed class ProcInspectorTests
{
    private readonly ProcInspector _inspector = new();

    [Fact]
    public void Own_process_values_are_sane()
    {
        var now = DateTimeOffset.UnixEpoch.AddDays(1);
        // Burn a little CPU so the counter has moved past zero.
        var x = 0.0;
        for (var i = 0; i < 5_000_000; i++)
        {
            x += Math.Sqrt(i);
        }

        var s = _inspector.Sample(Environment.ProcessId, now);

        Assert.NotNull(s);
        Assert.True(x > 0);
        Assert.Equal(now, s.At);
        Assert.InRange(s.RssBytes, 10L * 1024 * 1024, 64L * 1024 * 1024 * 1024);
        Assert.InRange(s.CpuSeconds, 0.01, 100_000);
        Assert.InRange(s.Threads, 2, 10_000);
        Assert.InRange(s.OpenFiles, 3, 100_000);
        // Threads agree with the task directory.
        Assert.InRange(Directory.GetDirectories($"/proc/{Environment.ProcessId}/task").Length, s.Threads - 20, s.Threads + 20);
    }

    [Fact]
    public async Task A_fresh_sleep_has_few_files_one_thread_and_little_cpu()
    {
        var dir = RuntimeTestKit.TempDir();
        await using var runtime = new ProcessRuntime(TimeProvider.System);
        var h = await runtime.StartAsync(new LaunchRequest { InstanceId = "s-0", Command = "/bin/sleep", Args = ["100"], LogPath = Path.Combine(dir, "s.log") });
        try
        {
            await Eventually.WaitAsync(() => RuntimeTestKit.Comm(h.Pid) == "sleep", RuntimeTestKit.Deadline, "sleep running");
            var s = _inspector.Sample(h.Pid, DateTimeOffset.UnixEpoch)!;

            Assert.Equal(1, s.Threads);
            // stdin (/dev/null), stdout and stderr (the log).
            Assert.True(3 == s.OpenFiles, string.Join("\n", Directory.GetFileSystemEntries($"/proc/{h.Pid}/fd").Select(f => f + " -> " + new FileInfo(f).LinkTarget)));
            Assert.InRange(s.RssBytes, 1, 64L * 1024 * 1024);
            Assert.InRange(s.CpuSeconds, 0, 1);
        }
        finally
        {
            await runtime.StopAsync(h, TimeSpan.Zero);
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_dead_pid_gives_null()
    {
        var dir = RuntimeTestKit.TempDir();
        await using var runtime = new ProcessRuntime(TimeProvider.System);
        var h = await runtime.StartAsync(new LaunchRequest { InstanceId = "t-0", Command = "/bin/true", LogPath = Path.Combine(dir, "t.log") });
        await h.Exited.WaitAsync(RuntimeTestKit.Deadline);

        Assert.Null(_inspector.Sample(h.Pid, DateTimeOffset.UnixEpoch));
        Assert.Null(_inspector.Sample(int.MaxValue - 1, DateTimeOffset.UnixEpoch));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void Stat_parsing_survives_a_command_name_with_spaces_and_parentheses()
    {
        var line = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 987654 1000 100 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0";

        var s = ProcFs.ParseStat(line);

        Assert.Equal(new ProcStat('S', 4242, 4242, 7, 3, 987654), s);
    }
}
