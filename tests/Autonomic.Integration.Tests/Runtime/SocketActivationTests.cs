using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;
using Autonomic.Backends.Runtime;
using Autonomic.Core.Abstractions;
using static Autonomic.Integration.Tests.Runtime.RuntimeTestKit;

namespace Autonomic.Integration.Tests.Runtime;

/// <summary>Socket activation with the real workload: the runtime's listener outlives the process that serves it.</summary>
[SupportedOSPlatform("linux")]
public sealed class SocketActivationTests : IAsyncLifetime
{
    private readonly string _dir = TempDir();
    private readonly ProcessRuntime _runtime = new(TimeProvider.System);
    private readonly List<IProcessHandle> _started = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var h in _started.Where(h => !h.Exited.IsCompleted))
        {
            await _runtime.StopAsync(h, TimeSpan.Zero);
        }

        await _runtime.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task<IProcessHandle> StartWorkloadAsync(int port)
    {
        var h = await _runtime.StartAsync(new LaunchRequest
        {
            InstanceId = "web-0",
            Command = Path.Combine(AppContext.BaseDirectory, "autonomic-workload"),
            Port = port,
            SocketActivation = true,
            LogPath = Path.Combine(_dir, "web-0.log"),
        });
        _started.Add(h);
        return h;
    }

    [Fact]
    public async Task The_workload_serves_the_passed_socket_and_a_request_made_between_two_processes_is_answered()
    {
        var port = TestPorts.Free();
        var first = await StartWorkloadAsync(port);
        Assert.Equal("ok", (await GetAsync(port, "/healthz")).Trim());
        Assert.Contains("socket:", File.ResolveLinkTarget($"/proc/{first.Pid}/fd/3", false)?.ToString() ?? "", StringComparison.Ordinal);
        Assert.Contains("LISTEN_FDS=1", File.ReadAllText($"/proc/{first.Pid}/environ").Split('\0'));

        _runtime.Signal(first, 9);
        await first.Exited.WaitAsync(Deadline);

        // No process serves the port now, yet the connection is accepted by the held socket and waits in its backlog.
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port).WaitAsync(Deadline);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));

        var second = await StartWorkloadAsync(port);
        Assert.NotEqual(first.Pid, second.Pid);
        using var reader = new StreamReader(stream);
        var answer = await reader.ReadToEndAsync().WaitAsync(Deadline);
        Assert.StartsWith("HTTP/1.1 200", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_program_binding_the_port_itself_beside_the_held_socket_is_refused()
    {
        var port = TestPorts.Free();
        await StartWorkloadAsync(port);

        using var rogue = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        rogue.SetRawSocketOption(1, 2, BitConverter.GetBytes(1));
        Assert.Throws<SocketException>(() => rogue.Bind(new IPEndPoint(IPAddress.Loopback, port)));
    }

    private static async Task<string> GetAsync(int port, string path)
    {
        using var http = new HttpClient { Timeout = Deadline };
        var deadline = DateTimeOffset.UtcNow + Deadline;
        while (true)
        {
            try
            {
                return await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}{path}"));
            }
            catch (HttpRequestException) when (DateTimeOffset.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
        }
    }
}
