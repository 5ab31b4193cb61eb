using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Autonomic.Workloads;

/// <summary>One parsed HTTP request: method, path and decoded query; bodies are drained and ignored.</summary>
internal sealed record HttpRequest(string Method, string Path, IReadOnlyDictionary<string, string> Query);

/// <summary>An answer: status, plain-text body and content type.</summary>
internal sealed record HttpResponse(int Status, string Body, string ContentType = "text/plain; charset=utf-8")
{
    /// <summary>Runs after the response has been sent (used by /fault/crash and /fault/hang).</summary>
    public Action? AfterSend { get; init; }
}

/// <summary>
/// A minimal HTTP/1.1 server on raw sockets: keep-alive, request line and headers, Content-Length bodies
/// drained, every answer carries Content-Length. Written by hand because cold start is measured: Kestrel's
/// start-up costs far more than the whole of this.
/// </summary>
internal sealed class HttpServer(Socket listener, Func<HttpRequest, ValueTask<HttpResponse>> handler, FaultState faults)
{
    private const int MaxHeaderBytes = 64 * 1024;

    /// <summary>
    /// The listening socket passed by a supervisor as descriptor 3 (systemd's socket activation protocol:
    /// LISTEN_FDS=1, LISTEN_PID naming this process), or null when none was passed.
    /// </summary>
    public static Socket? Inherited()
    {
        if (Environment.GetEnvironmentVariable("LISTEN_FDS") != "1")
        {
            return null;
        }

        var pid = Environment.GetEnvironmentVariable("LISTEN_PID");
        if (pid is not null && pid != Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            return null;
        }

        return new Socket(new SafeSocketHandle(3, ownsHandle: true));
    }

    public static Socket Listen(string host, int port)
    {
        IPAddress address = IPAddress.Parse(host);
        var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        // SO_REUSEADDR alone (level SOL_SOCKET 1, option 2): .NET's ReuseAddress also sets SO_REUSEPORT, which would let
        // two processes listen on one port and split its connections.
        socket.SetRawSocketOption(1, 2, BitConverter.GetBytes(1));
        socket.Bind(new IPEndPoint(address, port));
        socket.Listen(512);
        return socket;
    }

    public async Task RunAsync(CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await listener.AcceptAsync(cancel);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }

            if (faults.Hung)
            {
                // Keep the accepted socket open and never answer: clients connect, then time out.
                await faults.HangForever.WaitAsync(cancel).ConfigureAwait(false);
                return;
            }

            client.NoDelay = true;
            _ = Task.Run(() => ServeAsync(client, cancel), CancellationToken.None);
        }
    }

    private async Task ServeAsync(Socket client, CancellationToken cancel)
    {
        try
        {
            await ServeConnectionAsync(client, cancel);
        }
        catch (OperationCanceledException)
        {
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
        finally
        {
            client.Dispose();
        }
    }

    private async Task ServeConnectionAsync(Socket client, CancellationToken cancel)
    {
        byte[] buffer = new byte[4096];
        int filled = 0;
        while (true)
        {
            int headerEnd;
            while ((headerEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
            {
                if (filled == buffer.Length)
                {
                    if (buffer.Length >= MaxHeaderBytes)
                    {
                        await SendAsync(client, new HttpResponse(431, "request header too large\n"), keepAlive: false, head: false, cancel);
                        return;
                    }

                    Array.Resize(ref buffer, buffer.Length * 2);
                }

                int n = await client.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None, cancel);
                if (n == 0)
                {
                    return;
                }

                filled += n;
            }

            int consumed = headerEnd + 4;
            string head = Encoding.Latin1.GetString(buffer, 0, headerEnd);
            if (!TryParse(head, out HttpRequest? request, out long contentLength, out bool keepAlive, out string? error))
            {
                await SendAsync(client, new HttpResponse(400, error + "\n"), keepAlive: false, head: false, cancel);
                return;
            }

            // Drain the body so the next request on this connection starts at the right byte.
            long inBuffer = Math.Min(contentLength, filled - consumed);
            consumed += (int)inBuffer;
            long remaining = contentLength - inBuffer;
            Buffer.BlockCopy(buffer, consumed, buffer, 0, filled - consumed);
            filled -= consumed;
            while (remaining > 0)
            {
                int n = await client.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), SocketFlags.None, cancel);
                if (n == 0)
                {
                    return;
                }

                remaining -= n;
            }

            if (faults.Hung)
            {
                await faults.HangForever.WaitAsync(cancel);
            }

            HttpResponse response;
            try
            {
                response = await handler(request!);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                response = new HttpResponse(500, "internal error: " + ex.Message + "\n");
            }

            await SendAsync(client, response, keepAlive, request!.Method == "HEAD", cancel);
            response.AfterSend?.Invoke();
            if (!keepAlive)
            {
                client.Shutdown(SocketShutdown.Both);
                return;
            }
        }
    }

    private static bool TryParse(string head, out HttpRequest? request, out long contentLength, out bool keepAlive, out string? error)
    {
        request = null;
        contentLength = 0;
        keepAlive = false;
        error = null;
        string[] lines = head.Split("\r\n");
        string[] parts = lines[0].Split(' ');
        if (parts.Length != 3 || parts[0].Length == 0 || !parts[1].StartsWith('/') || !parts[2].StartsWith("HTTP/1.", StringComparison.Ordinal))
        {
            error = "malformed request line";
            return false;
        }

        keepAlive = parts[2] == "HTTP/1.1";
        for (int i = 1; i < lines.Length; i++)
        {
            string line = lines[i];
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                error = "malformed header line";
                return false;
            }

            ReadOnlySpan<char> name = line.AsSpan(0, colon).Trim();
            ReadOnlySpan<char> value = line.AsSpan(colon + 1).Trim();
            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            {
                if (!long.TryParse(value, out contentLength) || contentLength < 0)
                {
                    error = "bad Content-Length";
                    return false;
                }
            }
            else if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase))
            {
                error = "Transfer-Encoding is not supported; send Content-Length";
                return false;
            }
            else if (name.Equals("Connection", StringComparison.OrdinalIgnoreCase))
            {
                if (value.Contains("close", StringComparison.OrdinalIgnoreCase))
                {
                    keepAlive = false;
                }
                else if (value.Contains("keep-alive", StringComparison.OrdinalIgnoreCase))
                {
                    keepAlive = true;
                }
            }
        }

        string target = parts[1];
        int q = target.IndexOf('?', StringComparison.Ordinal);
        string path = q < 0 ? target : target[..q];
        var query = new Dictionary<string, string>(StringComparer.Ordinal);
        if (q >= 0)
        {
            foreach (string pair in target[(q + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                int eq = pair.IndexOf('=', StringComparison.Ordinal);
                string key = eq < 0 ? pair : pair[..eq];
                string val = eq < 0 ? "" : pair[(eq + 1)..];
                query[Uri.UnescapeDataString(key.Replace('+', ' '))] = Uri.UnescapeDataString(val.Replace('+', ' '));
            }
        }

        request = new HttpRequest(parts[0], path, query);
        return true;
    }

    private static async ValueTask SendAsync(Socket client, HttpResponse response, bool keepAlive, bool head, CancellationToken cancel)
    {
        byte[] body = Encoding.UTF8.GetBytes(response.Body);
        string header =
            $"HTTP/1.1 {response.Status} {Reason(response.Status)}\r\n" +
            $"Content-Type: {response.ContentType}\r\n" +
            $"Content-Length: {body.Length}\r\n" +
            (keepAlive ? "" : "Connection: close\r\n") +
            "\r\n";
        byte[] bytes = new byte[Encoding.ASCII.GetByteCount(header) + (head ? 0 : body.Length)];
        int written = Encoding.ASCII.GetBytes(header, bytes);
        if (!head)
        {
            body.CopyTo(bytes, written);
        }

        int sent = 0;
        while (sent < bytes.Length)
        {
            sent += await client.SendAsync(bytes.AsMemory(sent), SocketFlags.None, cancel);
        }
    }

    private static string Reason(int status) => status switch
    {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    };
}
