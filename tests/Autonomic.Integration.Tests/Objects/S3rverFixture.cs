using System.Diagnostics;
using System.Net.Sockets;
using Autonomic.Backends.Objects;

namespace Autonomic.Integration.Tests.Objects;

/// <summary>
/// A real S3-protocol server (s3rver 3.7.1 from npm, installed into tests/tools by <c>make tools</c>) on a free
/// loopback port with a fresh data directory; killed on dispose. Its fixed credentials are S3RVER/S3RVER.
/// </summary>
public sealed class S3rverFixture : IAsyncLifetime
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";

    private readonly string _data = Path.Combine(Path.GetTempPath(), "autonomic-s3rver-" + Guid.NewGuid().ToString("N"));
    private Process? _process;
    private readonly System.Text.StringBuilder _output = new();

    public Uri Url { get; private set; } = null!;

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Autonomic.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Autonomic.sln above {AppContext.BaseDirectory}");
    }

    public async Task InitializeAsync()
    {
        string script = Path.Combine(RepoRoot(), "tests", "tools", "node_modules", "s3rver", "bin", "s3rver.js");
        if (!File.Exists(script))
        {
            throw new InvalidOperationException($"s3rver is not installed ({script} is missing): run `make tools` (npm ci --prefix tests/tools)");
        }

        Directory.CreateDirectory(_data);
        int port = TestPorts.Free();
        Url = new Uri($"http://127.0.0.1:{port}");
        var start = new ProcessStartInfo("node")
        {
            ArgumentList = { script, "-d", _data, "-a", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--silent" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        _process = Process.Start(start) ?? throw new InvalidOperationException("node did not start");
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        await Eventually.WaitAsync(async () =>
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"s3rver exited with code {_process.ExitCode}: {Output}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                return true;
            }
            catch (SocketException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "s3rver to listen");
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>A store on a new bucket of this server (created on first use).</summary>
    public S3ObjectStore CreateStore(string? bucket = null, long partSize = 8 * 1024 * 1024) => new(new S3ObjectStoreOptions
    {
        ServiceUrl = Url,
        Bucket = bucket ?? "b-" + Guid.NewGuid().ToString("N")[..20],
        AccessKey = AccessKey,
        SecretKey = SecretKey,
        PartSize = partSize,
        // s3rver lists in the order it walks its directories, not in key order.
        SortListings = true,
    });

    public async Task DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        try
        {
            Directory.Delete(_data, recursive: true);
        }
        catch (IOException)
        {
            // Left in the temporary directory.
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }
}
