using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Autonomic.Cli.Bench;

/// <summary>
/// A minimal HTTP GET over a fresh TCP connection per request, with <c>Connection: close</c>. Fresh
/// connections matter: a pooled keep-alive connection would hide a dead listener until reuse failed.
/// </summary>
internal static class HealthProbe
{
    public static async Task<bool> GetOkAsync(int port, string path, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)
        {
            NoDelay = true,
            LingerState = new LingerOption(true, 0),
        };
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            var request = Encoding.ASCII.GetBytes(
                $"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
            await socket.SendAsync(request, SocketFlags.None, cts.Token);
            var buffer = new byte[64];
            var filled = 0;
            while (filled < 12)
            {
                var n = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cts.Token);
                if (n == 0)
                {
                    return false;
                }

                filled += n;
            }

            // "HTTP/1.x 200"
            return buffer[9] == (byte)'2' && buffer[10] == (byte)'0' && buffer[11] == (byte)'0';
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

/// <summary>
/// Fires one health request every interval without waiting for the previous one, so a request stuck on a
/// hung server does not delay the probes that notice its recovery.
/// </summary>
internal sealed class Prober : IAsyncDisposable
{
    private readonly int _port;
    private readonly string _path;
    private readonly TimeProvider _time;
    private readonly long _origin;
    private readonly List<ProbeSample> _samples = [];
    private readonly List<Task> _inFlight = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _disposed;

    public Prober(int port, string path, TimeProvider time, long origin, TimeSpan interval, TimeSpan timeout)
    {
        _port = port;
        _path = path;
        _time = time;
        _origin = origin;
        _loop = RunAsync(interval, timeout);
    }

    public double NowMs => _time.GetElapsedTime(_origin).TotalMilliseconds;

    public IReadOnlyList<ProbeSample> Snapshot()
    {
        lock (_samples)
        {
            return [.. _samples];
        }
    }

    private async Task RunAsync(TimeSpan interval, TimeSpan timeout)
    {
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            do
            {
                lock (_inFlight)
                {
                    _inFlight.RemoveAll(t => t.IsCompleted);
                    _inFlight.Add(ProbeOnceAsync(timeout));
                }
            }
            while (await timer.WaitForNextTickAsync(_stop.Token));
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task ProbeOnceAsync(TimeSpan timeout)
    {
        var sent = NowMs;
        var ok = await HealthProbe.GetOkAsync(_port, _path, timeout, CancellationToken.None);
        var done = NowMs;
        lock (_samples)
        {
            _samples.Add(new ProbeSample(sent, done, ok));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _stop.CancelAsync();
        await _loop;
        Task[] pending;
        lock (_inFlight)
        {
            pending = [.. _inFlight];
        }

        await Task.WhenAll(pending);
        _stop.Dispose();
    }
}
