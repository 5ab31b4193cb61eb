using System.Net;
using System.Net.Sockets;
using System.Text;
using Autonomic.Backends.Runtime;
using Autonomic.Core.Specs;

namespace Autonomic.Integration.Tests.Runtime;

public sealed class ProberTests : IDisposable
{
    private static readonly TimeSpan ShortTimeout = TimeSpan.FromMilliseconds(400);
    private readonly Prober _prober = new(TimeProvider.System);
    private readonly CancellationTokenSource _stop = new();
    private readonly List<TcpListener> _listeners = [];

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var l in _listeners)
        {
            l.Dispose();
        }

        _prober.Dispose();
    }

    /// <summary>A real socket server answering every request with <paramref name="status"/>, or never answering when null.</summary>
    private int Serve(int? status)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        _listeners.Add(listener);
        var token = _stop.Token;
        var held = new List<TcpClient>();
        _ = Task.Run(async () =>
        {
            while (!token.IsCancellationRequested)
            {
                var client = await listener.AcceptTcpClientAsync(token);
                if (status is null)
                {
                    held.Add(client); // accepted, never answered
                    continue;
                }

                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        var stream = client.GetStream();
                        var buffer = new byte[4096];
                        var seen = new StringBuilder();
                        while (!seen.ToString().Contains("\r\n\r\n"))
                        {
                            var n = await stream.ReadAsync(buffer, token);
                            if (n == 0)
                            {
                                return;
                            }

                            seen.Append(Encoding.ASCII.GetString(buffer, 0, n));
                        }

                        var path = seen.ToString().Split(' ')[1];
                        var body = Encoding.ASCII.GetBytes(path);
                        var head = $"HTTP/1.1 {status} X\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n";
                        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), token);
                        await stream.WriteAsync(body, token);
                    }
                }, token);
            }
        }, token);
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    // Generous where the test is not about timeouts: a cold HttpClient on a busy 2-core machine can take a while.
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(5);

    private static ProbeSpec Http(string path = "/healthz") => new() { Kind = ProbeKind.Http, Path = path, Timeout = Generous };

    [Theory]
    [InlineData(200)]
    [InlineData(204)]
    [InlineData(302)]
    public async Task Http_2xx_and_3xx_pass(int status)
    {
        var port = Serve(status);

        var r = await _prober.ProbeAsync(Http(), "127.0.0.1", port);

        Assert.True(r.Ok, r.Detail);
        Assert.Equal($"HTTP {status}", r.Detail);
        Assert.InRange(r.Latency, TimeSpan.Zero, Generous);
    }

    [Theory]
    [InlineData(404)]
    [InlineData(503)]
    public async Task Http_errors_fail_with_the_status(int status)
    {
        var port = Serve(status);

        var r = await _prober.ProbeAsync(Http(), "127.0.0.1", port);

        Assert.False(r.Ok);
        Assert.Equal($"HTTP {status}", r.Detail);
    }

    [Fact]
    public async Task Http_probe_port_overrides_the_instance_port()
    {
        var port = Serve(200);

        var r = await _prober.ProbeAsync(Http() with { Port = port }, "127.0.0.1", TestPorts.Free());

        Assert.True(r.Ok, r.Detail);
    }

    [Fact]
    public async Task Http_against_a_closed_port_is_connection_refused()
    {
        var r = await _prober.ProbeAsync(Http(), "127.0.0.1", TestPorts.Free());

        Assert.False(r.Ok);
        Assert.Equal("connection refused", r.Detail);
    }

    [Fact]
    public async Task Http_that_never_answers_times_out()
    {
        var port = Serve(null);

        var r = await _prober.ProbeAsync(Http() with { Timeout = ShortTimeout }, "127.0.0.1", port);

        Assert.False(r.Ok);
        Assert.Equal("timeout after 400 ms", r.Detail);
        Assert.InRange(r.Latency, ShortTimeout - TimeSpan.FromMilliseconds(20), ShortTimeout + TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task Http_against_a_real_python_server_passes()
    {
        var port = TestPorts.Free();
        var dir = RuntimeTestKit.TempDir();
        await using var runtime = new ProcessRuntime(TimeProvider.System);
        var h = await runtime.StartAsync(new()
        {
            InstanceId = "py-0",
            Command = "python3",
            Args = ["-m", "http.server", "--bind", "127.0.0.1", port.ToString()],
            WorkingDirectory = dir,
            LogPath = Path.Combine(dir, "py.log"),
        });
        try
        {
            var probe = Http("/") with { Timeout = TimeSpan.FromSeconds(1) };
            Autonomic.Core.Abstractions.ProbeResult? last = null;
            await Eventually.WaitAsync(
                async () => (last = await _prober.ProbeAsync(probe, "127.0.0.1", port)).Ok,
                TimeSpan.FromSeconds(15),
                "python http.server answering");
            Assert.Equal("HTTP 200", last!.Detail);
        }
        finally
        {
            await runtime.StopAsync(h, TimeSpan.FromSeconds(2));
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Tcp_passes_on_connect_and_fails_when_refused()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var tcp = new ProbeSpec { Kind = ProbeKind.Tcp, Timeout = Generous };

        var ok = await _prober.ProbeAsync(tcp, "127.0.0.1", port);
        var refused = await _prober.ProbeAsync(tcp, "127.0.0.1", TestPorts.Free());
        var noPort = await _prober.ProbeAsync(tcp, "127.0.0.1", null);

        Assert.True(ok.Ok, ok.Detail);
        Assert.False(refused.Ok);
        Assert.Equal("connection refused", refused.Detail);
        Assert.False(noPort.Ok);
    }

    [Fact]
    public async Task Exec_passes_on_exit_zero_and_fails_otherwise()
    {
        var ok = await _prober.ProbeAsync(new ProbeSpec { Kind = ProbeKind.Exec, Command = ["/bin/true"], Timeout = TimeSpan.FromSeconds(5) }, "127.0.0.1", null);
        var fail = await _prober.ProbeAsync(new ProbeSpec { Kind = ProbeKind.Exec, Command = ["sh", "-c", "echo not healthy >&2; exit 4"], Timeout = TimeSpan.FromSeconds(5) }, "127.0.0.1", null);
        var missing = await _prober.ProbeAsync(new ProbeSpec { Kind = ProbeKind.Exec, Command = ["no-such-probe-cmd"], Timeout = TimeSpan.FromSeconds(5) }, "127.0.0.1", null);

        Assert.True(ok.Ok, ok.Detail);
        Assert.False(fail.Ok);
        Assert.Equal("exit code 4: not healthy", fail.Detail);
        Assert.False(missing.Ok);
        Assert.Contains("no-such-probe-cmd", missing.Detail);
    }

    [Fact]
    public async Task Exec_that_runs_too_long_times_out_and_is_killed()
    {
        var pidFile = Path.Combine(Path.GetTempPath(), $"autonomic-probe-{Guid.NewGuid():N}.pid");
        var probe = new ProbeSpec { Kind = ProbeKind.Exec, Command = ["sh", "-c", "echo $$ > \"$0\"; exec sleep 30", pidFile], Timeout = TimeSpan.FromMilliseconds(300) };

        var r = await _prober.ProbeAsync(probe, "127.0.0.1", null);

        Assert.False(r.Ok);
        Assert.Equal("timeout after 300 ms", r.Detail);
        var pid = int.Parse(File.ReadAllText(pidFile).Trim());
        await Eventually.WaitAsync(() => RuntimeTestKit.IsGoneOrZombie(pid), RuntimeTestKit.Deadline, "probe process killed");
        File.Delete(pidFile);
    }

    [Fact]
    public async Task Caller_cancellation_is_not_a_probe_result()
    {
        var port = Serve(null);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => _prober.ProbeAsync(Http() with { Timeout = TimeSpan.FromSeconds(5) }, "127.0.0.1", port, cts.Token));
    }
}
