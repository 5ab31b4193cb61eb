using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Autonomic.Backends.Runtime;

namespace Autonomic.Backends.Functions;

/// <summary>How to start one worker of a function version.</summary>
internal sealed record WorkerLaunch
{
    public required string Function { get; init; }
    public required int Version { get; init; }
    /// <summary>The program and its arguments, already wrapped in setsid/prlimit.</summary>
    public required IReadOnlyList<string> Argv { get; init; }
    public required IReadOnlyDictionary<string, string> Env { get; init; }
    public required string WorkingDirectory { get; init; }
    public required string TempRoot { get; init; }
    /// <summary>The function host says <c>{"ready":true}</c> once the handler is loaded; exec workers do not.</summary>
    public bool AwaitReady { get; init; }
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(30);
    public int MaxLogLines { get; init; } = 100;
    public int MaxLineLength { get; init; } = 4096;
}

/// <summary>The answer of one request to a worker.</summary>
internal sealed record WorkerReply(
    Autonomic.Core.Abstractions.InvocationStatus Status,
    JsonElement? Response,
    string? Error,
    double? HandlerMs,
    IReadOnlyList<string> Logs,
    bool WorkerLost);

/// <summary>
/// One worker process of one function version: its own session (killing the group takes its children), a clean
/// environment, a private temporary directory (HOME and TMPDIR) removed when it ends, stdin/stdout speaking one JSON
/// line each way per invocation, stderr read line by line into the function's log and the current invocation's logs.
/// Not thread-safe for invocations: the pool hands a worker to one caller at a time.
/// </summary>
internal sealed class FunctionWorker : IAsyncDisposable
{
    private static readonly UTF8Encoding Utf8 = new(false);
    private readonly Process _process;
    private readonly WorkerLaunch _launch;
    private readonly Action<FunctionWorker, string> _onLog;
    private readonly Stream _stdin;
    private readonly StreamReader _stdout;
    private readonly Task _stderrLoop;
    private readonly Lock _logLock = new();
    private readonly ArrayBufferWriter<byte> _request = new(1024);
    private readonly Queue<string> _recent = new();
    private List<string>? _current;
    private long _nextId;
    private int _disposed;

    private FunctionWorker(Process process, WorkerLaunch launch, string tempDirectory, Action<FunctionWorker, string> onLog)
    {
        _process = process;
        _launch = launch;
        TempDirectory = tempDirectory;
        _onLog = onLog;
        Pid = process.Id;
        _stdin = process.StandardInput.BaseStream;
        _stdout = process.StandardOutput;
        _stderrLoop = Task.Run(ReadStderrAsync);
    }

    public int Pid { get; }

    /// <summary>The worker's private HOME and TMPDIR.</summary>
    public string TempDirectory { get; }

    /// <summary>When it last went back to the idle set (pool bookkeeping).</summary>
    public DateTimeOffset IdleSince { get; set; }

    public bool HasExited
    {
        get
        {
            try
            {
                return _process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
    }

    /// <summary>Starts a worker; for the function host, waits until it has loaded the handler.</summary>
    public static async Task<FunctionWorker> StartAsync(WorkerLaunch launch, Action<FunctionWorker, string> onLog, CancellationToken cancellationToken)
    {
        var temp = Path.Combine(launch.TempRoot, $"{launch.Function}-v{launch.Version}-{Guid.NewGuid():N}");
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("function workers need Linux (setsid, prlimit)");
        }

        Directory.CreateDirectory(temp, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var psi = new ProcessStartInfo(launch.Argv[0])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = launch.WorkingDirectory,
            StandardOutputEncoding = Utf8,
            StandardErrorEncoding = Utf8,
        };
        foreach (var arg in launch.Argv.Skip(1))
        {
            psi.ArgumentList.Add(arg);
        }

        // Nothing of the control plane's environment is inherited: only what is set here.
        psi.Environment.Clear();
        foreach (var (key, value) in launch.Env)
        {
            psi.Environment[key] = value;
        }

        psi.Environment["HOME"] = temp;
        psi.Environment["TMPDIR"] = temp;

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("the worker did not start");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            TryDelete(temp);
            throw new FunctionWorkerException($"cannot start {launch.Argv[^1]}: {e.Message}");
        }

        var worker = new FunctionWorker(process, launch, temp, onLog);
        if (launch.AwaitReady)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(launch.StartTimeout);
            string? line;
            try
            {
                line = await worker._stdout.ReadLineAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                await worker.DisposeAsync();
                cancellationToken.ThrowIfCancellationRequested();
                throw new FunctionWorkerException($"the function host did not start within {launch.StartTimeout.TotalSeconds:0.#} s");
            }

            if (line is null || !line.Contains("\"ready\"", StringComparison.Ordinal))
            {
                var reason = await worker.DescribeExitAsync();
                await worker.DisposeAsync();
                throw new FunctionWorkerException($"the function host failed to start: {reason}");
            }
        }

        return worker;
    }

    /// <summary>Sends one event and waits for its answer at most <paramref name="timeout"/>; a worker that times out or dies is lost.</summary>
    public async Task<WorkerReply> InvokeAsync(JsonElement payload, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var id = ++_nextId;
        var logs = new List<string>();
        lock (_logLock)
        {
            _current = logs;
        }

        try
        {
            _request.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(_request))
            {
                writer.WriteStartObject();
                writer.WriteNumber("id", id);
                writer.WritePropertyName("event");
                payload.WriteTo(writer);
                writer.WriteNumber("deadlineMs", (long)timeout.TotalMilliseconds);
                writer.WriteEndObject();
            }

            _request.Write("\n"u8);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            try
            {
                await _stdin.WriteAsync(_request.WrittenMemory, deadline.Token);
                await _stdin.FlushAsync(deadline.Token);
                while (true)
                {
                    var line = await _stdout.ReadLineAsync(deadline.Token);
                    if (line is null)
                    {
                        return await LostAsync(Core.Abstractions.InvocationStatus.Crashed, null, logs);
                    }

                    if (TryParseReply(line, id, out var reply))
                    {
                        if (reply.Error is not null)
                        {
                            await SettleLogsAsync();
                        }

                        return reply with { Logs = Snapshot(logs) };
                    }

                    // Anything else on stdout is not the answer: keep it as a log line.
                    Log("stdout: " + line);
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return await LostAsync(Core.Abstractions.InvocationStatus.TimedOut, $"the handler did not answer within {timeout.TotalMilliseconds:0} ms; the worker was killed", logs);
            }
            catch (IOException)
            {
                // A broken pipe: the worker is gone.
                return await LostAsync(Core.Abstractions.InvocationStatus.Crashed, null, logs);
            }
        }
        finally
        {
            lock (_logLock)
            {
                _current = null;
            }
        }
    }

    private async Task<WorkerReply> LostAsync(Core.Abstractions.InvocationStatus status, string? error, List<string> logs)
    {
        Kill();
        var reason = await DescribeExitAsync();
        return new WorkerReply(status, null, error ?? $"the worker died: {reason}", null, Snapshot(logs), WorkerLost: true);
    }

    private IReadOnlyList<string> Snapshot(List<string> logs)
    {
        lock (_logLock)
        {
            return [.. logs];
        }
    }

    private static bool TryParseReply(string line, long id, out WorkerReply reply)
    {
        reply = null!;
        if (line.Length == 0 || line[0] != '{')
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            if (!root.TryGetProperty("id", out var idElement) || idElement.ValueKind != JsonValueKind.Number || !idElement.TryGetInt64(out var got) || got != id)
            {
                return false;
            }

            double? handlerMs = root.TryGetProperty("handlerMs", out var ms) && ms.ValueKind == JsonValueKind.Number ? ms.GetDouble() : null;
            if (root.TryGetProperty("error", out var error) && error.ValueKind != JsonValueKind.Null)
            {
                var text = error.ValueKind == JsonValueKind.String ? error.GetString()! : error.GetRawText();
                reply = new WorkerReply(Core.Abstractions.InvocationStatus.Failed, null, text, handlerMs, [], false);
                return true;
            }

            JsonElement? response = root.TryGetProperty("response", out var r) ? r.Clone() : null;
            reply = new WorkerReply(Core.Abstractions.InvocationStatus.Succeeded, response, null, handlerMs, [], false);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>A handler that failed usually logged why just before answering: give stderr a moment to be read.</summary>
    private async Task SettleLogsAsync()
    {
        long before = -1;
        for (var i = 0; i < 10; i++)
        {
            var now = Interlocked.Read(ref _linesSeen);
            if (now == before)
            {
                return;
            }

            before = now;
            await Task.Delay(5);
        }
    }

    private long _linesSeen;

    private async Task ReadStderrAsync()
    {
        try
        {
            while (await _process.StandardError.ReadLineAsync() is { } line)
            {
                Log(line);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The worker is gone.
        }
    }

    private void Log(string line)
    {
        if (line.Length > _launch.MaxLineLength)
        {
            line = line[.._launch.MaxLineLength] + "…";
        }

        lock (_logLock)
        {
            _linesSeen++;
            _recent.Enqueue(line);
            if (_recent.Count > 5)
            {
                _recent.Dequeue();
            }

            if (_current is { } current && current.Count < _launch.MaxLogLines)
            {
                current.Add(line);
            }
        }

        _onLog(this, line);
    }

    /// <summary>Why the worker ended: exit code or signal, and its last log line.</summary>
    private async Task<string> DescribeExitAsync()
    {
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
            await _stderrLoop.WaitAsync(TimeSpan.FromSeconds(1));
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException)
        {
            Kill();
        }

        string last;
        lock (_logLock)
        {
            last = _recent.Count > 0 ? $"; last log line: {_recent.Last()}" : "";
        }

        if (!HasExited)
        {
            return "it did not exit" + last;
        }

        var code = _process.ExitCode;
        var how = code switch
        {
            137 when last.Contains("out of memory", StringComparison.Ordinal) => "out of memory (exit 137)",
            > 128 and <= 192 => $"killed by signal {code - 128} ({SignalName(code - 128)})",
            _ => $"exit code {code}",
        };
        return how + last;
    }

    private static string SignalName(int signal) => signal switch
    {
        6 => "SIGABRT",
        9 => "SIGKILL: killed, possibly over its memory limit or on a timeout",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        24 => "SIGXCPU: CPU time limit exceeded",
        25 => "SIGXFSZ",
        _ => "signal",
    };

    /// <summary>Kills the worker's whole process group: children it started go too, even when it has exited itself.</summary>
    public void Kill()
    {
        _ = LibC.Kill(-Pid, LibC.SIGKILL);
        if (!HasExited)
        {
            _ = LibC.Kill(Pid, LibC.SIGKILL);
        }
    }

    /// <summary>Kills the worker (if alive), reaps it and removes its temporary directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            _stdin.Close();
        }
        catch (IOException)
        {
            // Already gone.
        }

        Kill();
        try
        {
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await _process.WaitForExitAsync(wait.Token);
            await _stderrLoop.WaitAsync(TimeSpan.FromSeconds(1));
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException or InvalidOperationException)
        {
            // Reaped later by the runtime; the directory goes anyway.
        }

        _process.Dispose();
        TryDelete(TempDirectory);
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Removed by someone else, or unreadable leftovers of the handler: nothing more to do.
        }
    }
}

/// <summary>A worker could not be started.</summary>
internal sealed class FunctionWorkerException(string message) : Exception(message);
