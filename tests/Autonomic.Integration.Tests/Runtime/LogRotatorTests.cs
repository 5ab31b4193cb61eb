using Autonomic.Backends.Runtime;
using Autonomic.Core.Abstractions;

namespace Autonomic.Integration.Tests.Runtime;

public sealed class LogRotatorTests : IDisposable
{
    private readonly string _dir = RuntimeTestKit.TempDir();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_small_or_missing_file_is_left_alone()
    {
        var path = Path.Combine(_dir, "a.log");
        Assert.False(LogRotator.RotateIfNeeded(path, 10, 3));

        File.WriteAllText(path, "123456789");
        Assert.False(LogRotator.RotateIfNeeded(path, 10, 3));

        Assert.Equal("123456789", File.ReadAllText(path));
        Assert.False(File.Exists(path + ".1"));
    }

    [Fact]
    public void Rotations_shift_older_files_and_keep_only_the_newest()
    {
        var path = Path.Combine(_dir, "a.log");
        foreach (var gen in new[] { "one", "two", "three", "four" })
        {
            File.AppendAllText(path, gen + "-0123456789\n");
            Assert.True(LogRotator.RotateIfNeeded(path, 10, 2));
            Assert.Equal(0, new FileInfo(path).Length);
        }

        Assert.Equal("four-0123456789\n", File.ReadAllText(path + ".1"));
        Assert.Equal("three-0123456789\n", File.ReadAllText(path + ".2"));
        Assert.False(File.Exists(path + ".3"));
    }

    [Fact]
    public void Keep_zero_only_truncates()
    {
        var path = Path.Combine(_dir, "a.log");
        File.WriteAllText(path, "0123456789");

        Assert.True(LogRotator.RotateIfNeeded(path, 10, 0));

        Assert.Equal(0, new FileInfo(path).Length);
        Assert.False(File.Exists(path + ".1"));
    }

    [Fact]
    public async Task A_running_instance_keeps_appending_from_the_start_after_rotation()
    {
        var log = Path.Combine(_dir, "w.log");
        var flag = Path.Combine(_dir, "go");
        await using var runtime = new ProcessRuntime(TimeProvider.System);
        var h = await runtime.StartAsync(new LaunchRequest
        {
            InstanceId = "w-0",
            Command = "sh",
            Args = ["-c", "echo before-rotation; while [ ! -e \"$0\" ]; do sleep 0.02; done; echo after", flag],
            LogPath = log,
        });
        await Eventually.WaitAsync(() => File.Exists(log) && RuntimeTestKit.ReadShared(log).Contains("before-rotation\n"), RuntimeTestKit.Deadline, "first line logged");

        Assert.True(LogRotator.RotateIfNeeded(log, 5, 3));
        File.WriteAllText(flag, "");
        var exit = await h.Exited.WaitAsync(RuntimeTestKit.Deadline);

        Assert.True(exit.Clean);
        Assert.Equal("before-rotation\n", File.ReadAllText(log + ".1"));
        // O_APPEND: the write lands at the new end (offset 0), with no hole of zero bytes before it.
        Assert.Equal("after\n", File.ReadAllText(log));
    }
}
