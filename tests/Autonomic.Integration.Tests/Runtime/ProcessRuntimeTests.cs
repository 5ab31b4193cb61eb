using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using Autonomic.Backends.Runtime;
using Autonomic.Core.Abstractions;
using static Autonomic.Integration.Tests.Runtime.RuntimeTestKit;

namespace Autonomic.Integration.Tests.Runtime;

[SupportedOSPlatform("linux")]
public sealed class ProcessRuntimeTests : IAsyncLifetime
{
    private readonly string _dir = TempDir();
    private readonly ProcessRuntime _runtime = new(TimeProvider.System);
    private readonly List<IProcessHandle> _started = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var h in _started)
        {
            if (!h.Exited.IsCompleted)
            {
                await _runtime.StopAsync(h, TimeSpan.Zero);
            }
        }

        await _runtime.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private LaunchRequest Request(string command, params string[] args) => new()
    {
        InstanceId = "web-0",
        Command = command,
        Args = args,
        LogPath = Path.Combine(_dir, "logs", "web-0.log"),
    };

    private async Task<IProcessHandle> StartAsync(LaunchRequest request)
    {
        var h = await _runtime.StartAsync(request);
        _started.Add(h);
        return h;
    }

    [Fact]
    public async Task Exit_code_is_reported_and_output_lands_in_the_log()
    {
        var request = Request("sh", "-c", "echo hi; echo oops >&2; exit 3");
        var h = await StartAsync(request);

        var exit = await h.Exited.WaitAsync(Deadline);

        Assert.Equal(3, exit.ExitCode);
        Assert.Null(exit.Signal);
        Assert.False(exit.Clean);
        Assert.Equal("hi\noops\n", ReadShared(request.LogPath));
    }

    [Fact]
    public async Task A_second_run_appends_to_the_log()
    {
        var request = Request("/bin/echo", "first");
        await (await StartAsync(request)).Exited.WaitAsync(Deadline);
        await (await StartAsync(request with { Args = ["second"] })).Exited.WaitAsync(Deadline);

        Assert.Equal("first\nsecond\n", ReadShared(request.LogPath));
    }

    [Fact]
    public async Task A_signal_death_is_reported_as_the_signal()
    {
        var h = await StartAsync(Request("/bin/sleep", "100"));
        await Eventually.WaitAsync(() => Comm(h.Pid) == "sleep", Deadline, "sleep running");

        _runtime.Signal(h, 9);
        var exit = await h.Exited.WaitAsync(Deadline);

        Assert.Equal(9, exit.Signal);
        Assert.Null(exit.ExitCode);
        Assert.Equal("killed by signal 9", exit.ToString());
    }

    [Fact]
    public async Task The_pid_is_the_programs_own_and_it_leads_its_own_session()
    {
        var before = DateTimeOffset.UtcNow;
        var h = await StartAsync(Request("sleep", "100"));

        await Eventually.WaitAsync(() => Comm(h.Pid) == "sleep", Deadline, "the pid to run sleep");
        var f = StatFields(h.Pid)!;
        Assert.Equal(h.Pid.ToString(), f[2]); // field 5: process group
        Assert.Equal(h.Pid.ToString(), f[3]); // field 6: session
        Assert.Equal(h.StartTicks.ToString(), f[19]); // field 22: start ticks
        Assert.True(h.StartTicks > 0);
        Assert.InRange(h.StartedAt, before, DateTimeOffset.UtcNow);
        // Not a child of some wrapper: its parent is this test process.
        Assert.Equal(Environment.ProcessId.ToString(), f[1]);
    }

    [Fact]
    public async Task Environment_gets_port_instance_id_and_request_variables()
    {
        var port = TestPorts.Free();
        var request = Request("sh", "-c", "echo \"$PORT|$AUTONOMIC_INSTANCE|$GREETING|${HOME:+home}\"") with
        {
            Port = port,
            Env = new Dictionary<string, string> { ["GREETING"] = "it's \"quoted\" $x" },
        };

        await (await StartAsync(request)).Exited.WaitAsync(Deadline);

        Assert.Equal($"{port}|web-0|it's \"quoted\" $x|home\n", ReadShared(request.LogPath));
    }

    [Fact]
    public async Task Arguments_and_paths_with_spaces_and_quotes_pass_unharmed()
    {
        var dir = Path.Combine(_dir, "a dir 'with' \"quotes\"");
        var request = Request("/bin/sh", "-c", "printf '%s|' \"$@\"; pwd", "x", "two words", "$HOME", "a'b\"c") with
        {
            LogPath = Path.Combine(dir, "log $x.log"),
            WorkingDirectory = _dir,
        };

        var exit = await (await StartAsync(request)).Exited.WaitAsync(Deadline);

        Assert.True(exit.Clean);
        Assert.Equal($"two words|$HOME|a'b\"c|{_dir}\n", ReadShared(request.LogPath));
    }

    [Fact]
    public async Task A_relative_command_resolves_against_the_working_directory()
    {
        var script = Path.Combine(_dir, "run.sh");
        await File.WriteAllTextAsync(script, "#!/bin/sh\necho relative\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var request = Request("./run.sh") with { WorkingDirectory = _dir };

        var exit = await (await StartAsync(request)).Exited.WaitAsync(Deadline);

        Assert.True(exit.Clean);
        Assert.Equal("relative\n", ReadShared(request.LogPath));
    }

    [Fact]
    public async Task A_missing_command_is_a_launch_error_naming_it()
    {
        var e = await Assert.ThrowsAsync<LaunchException>(() => _runtime.StartAsync(Request("no-such-command-xyz")));
        Assert.Equal("command_not_found", e.Reason);
        Assert.Contains("no-such-command-xyz", e.Message);

        var notExecutable = Path.Combine(_dir, "data.txt");
        await File.WriteAllTextAsync(notExecutable, "x");
        var e2 = await Assert.ThrowsAsync<LaunchException>(() => _runtime.StartAsync(Request(notExecutable)));
        Assert.Equal("command_not_found", e2.Reason);
    }

    [Fact]
    public async Task A_port_in_use_is_a_launch_error_naming_the_port()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var e = await Assert.ThrowsAsync<LaunchException>(() => _runtime.StartAsync(Request("/bin/true") with { Port = port }));

        Assert.Equal("port_in_use", e.Reason);
        Assert.Equal($"port {port} is already in use (instance web-0)", e.Message);
    }

    [Fact]
    public async Task A_port_held_on_all_interfaces_is_in_use_too()
    {
        using var holder = new TcpListener(IPAddress.Any, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;

        var e = await Assert.ThrowsAsync<LaunchException>(() => _runtime.StartAsync(Request("/bin/true") with { Port = port }));

        Assert.Equal("port_in_use", e.Reason);
    }

    [Fact]
    public async Task Stop_ends_a_cooperative_process_with_sigterm()
    {
        var h = await StartAsync(Request("/bin/sleep", "100"));
        await Eventually.WaitAsync(() => Comm(h.Pid) == "sleep", Deadline, "sleep running");

        await _runtime.StopAsync(h, TimeSpan.FromSeconds(20)).WaitAsync(Deadline);

        Assert.Equal(15, (await h.Exited).Signal);
    }

    [Fact]
    public async Task Stop_kills_a_process_that_ignores_sigterm_after_the_grace_period()
    {
        var request = Request("sh", "-c", "trap '' TERM; echo ready; while :; do sleep 1; done");
        var h = await StartAsync(request);
        await Eventually.WaitAsync(() => File.Exists(request.LogPath) && ReadShared(request.LogPath).Contains("ready"), Deadline, "trap installed");
        var grace = TimeSpan.FromMilliseconds(300);

        var sw = Stopwatch.StartNew();
        await _runtime.StopAsync(h, grace).WaitAsync(Deadline);

        Assert.True(sw.Elapsed >= grace - TimeSpan.FromMilliseconds(20), $"stopped after {sw.Elapsed}");
        Assert.Equal(9, (await h.Exited).Signal);
    }

    [Fact]
    public async Task Stop_ends_a_stopped_process()
    {
        var h = await StartAsync(Request("/bin/sleep", "100"));
        await Eventually.WaitAsync(() => Comm(h.Pid) == "sleep", Deadline, "sleep running");
        _runtime.Signal(h, 19);
        await Eventually.WaitAsync(() => StatFields(h.Pid)?[0] == "T", Deadline, "process stopped");

        await _runtime.StopAsync(h, TimeSpan.FromSeconds(1)).WaitAsync(Deadline);

        Assert.NotNull((await h.Exited).Signal);
        Assert.True(IsGoneOrZombie(h.Pid));
    }

    [Fact]
    public async Task Sigkill_ends_a_stopped_process()
    {
        var h = await StartAsync(Request("/bin/sleep", "100"));
        _runtime.Signal(h, 19);
        await Eventually.WaitAsync(() => StatFields(h.Pid)?[0] == "T", Deadline, "process stopped");

        _runtime.Signal(h, 9);

        Assert.Equal(9, (await h.Exited.WaitAsync(Deadline)).Signal);
    }

    [Fact]
    public async Task Stop_reaches_the_whole_process_group()
    {
        var pidFile = Path.Combine(_dir, "child.pid");
        var request = Request("sh", "-c", "trap '' TERM; sleep 100 & echo $! > \"$0\"; wait", pidFile);
        var h = await StartAsync(request);
        await Eventually.WaitAsync(() => File.Exists(pidFile) && File.ReadAllText(pidFile).EndsWith('\n'), Deadline, "child pid written");
        var child = int.Parse(File.ReadAllText(pidFile).Trim());

        await _runtime.StopAsync(h, TimeSpan.FromMilliseconds(200)).WaitAsync(Deadline);

        await Eventually.WaitAsync(() => IsGoneOrZombie(child), Deadline, "grandchild gone");
    }

    [Fact]
    public async Task Dispose_leaves_instances_running_and_a_new_runtime_adopts_them()
    {
        var first = new ProcessRuntime(TimeProvider.System);
        var h = await first.StartAsync(Request("/bin/sleep", "100"));
        await Eventually.WaitAsync(() => Comm(h.Pid) == "sleep", Deadline, "sleep running");
        await first.DisposeAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => h.Exited);
        Assert.Equal("S", StatFields(h.Pid)![0]);

        await using var second = new ProcessRuntime(TimeProvider.System);
        var adopted = second.Adopt(h.Pid, h.StartTicks);
        Assert.NotNull(adopted);
        Assert.Equal(h.Pid, adopted.Pid);
        Assert.InRange(adopted.StartedAt, h.StartedAt - TimeSpan.FromSeconds(2), h.StartedAt + TimeSpan.FromSeconds(2));
        Assert.False(adopted.Exited.IsCompleted);

        second.Signal(adopted, 9);
        var exit = await adopted.Exited.WaitAsync(Deadline);

        Assert.Null(exit.ExitCode);
        Assert.Null(exit.Signal);
    }

    [Fact]
    public async Task Adopt_falls_back_to_polling_proc()
    {
        var h = await StartAsync(Request("/bin/sleep", "100"));
        await using var other = new ProcessRuntime(TimeProvider.System) { ForcePollingFallback = true };
        var adopted = other.Adopt(h.Pid, h.StartTicks)!;
        Assert.False(adopted.Exited.IsCompleted);

        await _runtime.StopAsync(h, TimeSpan.FromSeconds(5));

        await adopted.Exited.WaitAsync(Deadline);
    }

    [Fact]
    public async Task Stop_works_on_an_adopted_process()
    {
        var h = await StartAsync(Request("/bin/sleep", "100"));
        await Eventually.WaitAsync(() => Comm(h.Pid) == "sleep", Deadline, "sleep running");
        await using var other = new ProcessRuntime(TimeProvider.System);
        var adopted = other.Adopt(h.Pid, h.StartTicks)!;

        await other.StopAsync(adopted, TimeSpan.FromSeconds(5)).WaitAsync(Deadline);

        Assert.Equal(15, (await h.Exited.WaitAsync(Deadline)).Signal);
    }

    [Fact]
    public async Task Adopt_refuses_a_different_process_or_a_missing_pid()
    {
        var h = await StartAsync(Request("/bin/sleep", "100"));

        Assert.Null(_runtime.Adopt(h.Pid, h.StartTicks + 1));
        Assert.Null(_runtime.Adopt(int.MaxValue - 1, h.StartTicks));

        var gone = await StartAsync(Request("/bin/true"));
        await gone.Exited.WaitAsync(Deadline);
        Assert.Null(_runtime.Adopt(gone.Pid, gone.StartTicks));
    }

    [Fact]
    public void Exit_codes_above_128_map_to_signals()
    {
        Assert.Equal((0, null), ProcessRuntime.MapExitCode(0));
        Assert.Equal((128, null), ProcessRuntime.MapExitCode(128));
        Assert.Equal((null, 15), ProcessRuntime.MapExitCode(143));
        Assert.Equal((255, null), ProcessRuntime.MapExitCode(255));
    }
}
