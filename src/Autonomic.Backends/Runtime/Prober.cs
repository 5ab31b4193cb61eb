using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Specs;

namespace Autonomic.Backends.Runtime;

/// <summary>
/// Runs http, tcp and exec probes with Kubernetes semantics: http passes on a 2xx or 3xx answer (redirects are not
/// followed), tcp on a connect, exec on exit code 0, each within the probe's timeout. A failing or unreachable target
/// is a result with <c>Ok = false</c> and a <c>Detail</c> a person can read ("HTTP 503", "connection refused",
/// "timeout after 400 ms", "exit code 4"); the prober only throws when the caller cancels. An exec probe that runs
/// out of time is killed with its children. Latency is measured with the injected <see cref="TimeProvider"/>.
/// </summary>
public sealed class Prober : IProber, IDisposable
{
    private readonly TimeProvider _time;
    private readonly HttpClient _http;

    public Prober(TimeProvider time)
    {
        _time = time;
        _http = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            // Instances come and go on the same ports: never reuse a connection for long.
            PooledConnectionLifetime = TimeSpan.FromSeconds(2),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(1),
            // Each probe's own timeout token bounds the connect; this is only a ceiling.
            ConnectTimeout = TimeSpan.FromSeconds(30),
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public async Task<ProbeResult> ProbeAsync(ProbeSpec probe, string host, int? instancePort, CancellationToken cancellationToken = default)
    {
        var started = _time.GetTimestamp();
        using var timeout = new CancellationTokenSource(probe.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        string detail;
        bool ok;
        try
        {
            (ok, detail) = probe.Kind switch
            {
                ProbeKind.Http => await HttpAsync(probe, host, probe.Port ?? instancePort, linked.Token).ConfigureAwait(false),
                ProbeKind.Tcp => await TcpAsync(host, probe.Port ?? instancePort, linked.Token).ConfigureAwait(false),
                ProbeKind.Exec => await ExecAsync(probe, linked.Token).ConfigureAwait(false),
                _ => (false, $"unknown probe kind {probe.Kind}"),
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            (ok, detail) = (false, TimeoutDetail(probe.Timeout));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            (ok, detail) = (false, Describe(e));
        }

        return new ProbeResult(ok, _time.GetElapsedTime(started), detail);
    }

    public void Dispose() => _http.Dispose();

    private static string TimeoutDetail(TimeSpan timeout) =>
        $"timeout after {timeout.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms";

    private async Task<(bool, string)> HttpAsync(ProbeSpec probe, string host, int? port, CancellationToken ct)
    {
        if (port is null)
        {
            return (false, "no port to probe");
        }

        var path = probe.Path.StartsWith('/') ? probe.Path : "/" + probe.Path;
        var hostPart = host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host;
        var uri = new Uri($"http://{hostPart}:{port.Value.ToString(CultureInfo.InvariantCulture)}{path}");
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        var code = (int)response.StatusCode;
        return (code is >= 200 and < 400, $"HTTP {code.ToString(CultureInfo.InvariantCulture)}");
    }

    private static async Task<(bool, string)> TcpAsync(string host, int? port, CancellationToken ct)
    {
        if (port is null)
        {
            return (false, "no port to probe");
        }

        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        EndPoint endPoint = IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port.Value) : new DnsEndPoint(host, port.Value);
        await socket.ConnectAsync(endPoint, ct).ConfigureAwait(false);
        return (true, "connected");
    }

    private static async Task<(bool, string)> ExecAsync(ProbeSpec probe, CancellationToken ct)
    {
        if (probe.Command.Count == 0)
        {
            return (false, "exec probe has no command");
        }

        var psi = new ProcessStartInfo(probe.Command[0])
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in probe.Command.Skip(1))
        {
            psi.ArgumentList.Add(a);
        }

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("process did not start");
        }
        catch (Win32Exception e)
        {
            return (false, $"cannot run {probe.Command[0]}: {e.Message}");
        }

        using (process)
        {
            process.StandardInput.Close();
            var lastLine = string.Empty;
            void Keep(object? sender, DataReceivedEventArgs e)
            {
                if (!string.IsNullOrWhiteSpace(e.Data))
                {
                    lastLine = e.Data.Trim();
                }
            }

            process.OutputDataReceived += Keep;
            process.ErrorDataReceived += Keep;
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            try
            {
                await process.WaitForExitAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                try
                {
                    process.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // Already gone.
                }

                throw;
            }

            var code = process.ExitCode;
            var line = Volatile.Read(ref lastLine);
            var detail = $"exit code {code.ToString(CultureInfo.InvariantCulture)}";
            return (code == 0, line.Length == 0 ? detail : $"{detail}: {Truncate(line, 200)}");
        }
    }

    private static string Truncate(string s, int max) => s.Length <= max ? s : s[..max] + "...";

    private static string Describe(Exception e)
    {
        for (var x = e; x is not null; x = x.InnerException)
        {
            if (x is SocketException se)
            {
                return se.SocketErrorCode switch
                {
                    SocketError.ConnectionRefused => "connection refused",
                    SocketError.HostNotFound or SocketError.NoData => "host not found",
                    SocketError.HostUnreachable or SocketError.NetworkUnreachable => "host unreachable",
                    SocketError.ConnectionReset => "connection reset",
                    _ => se.Message,
                };
            }
        }

        return e is HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded } ? "connection closed without a response" : e.Message;
    }
}
