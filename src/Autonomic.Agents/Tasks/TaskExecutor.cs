using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Tasks;

namespace Autonomic.Agents.Tasks;

/// <summary>How one attempt ended: a result, or an error that is permanent (never retried) or transient.</summary>
public sealed record TaskOutcome(bool Ok, JsonElement? Result, string? Error, bool Permanent)
{
    public static TaskOutcome Success(object result) => new(true, JsonSerializer.SerializeToElement(result, result.GetType(), JsonDefaults.Options), null, false);

    public static TaskOutcome Transient(string error, object? result = null) =>
        new(false, result is null ? null : JsonSerializer.SerializeToElement(result, result.GetType(), JsonDefaults.Options), error, false);

    public static TaskOutcome Fatal(string error, object? result = null) => Transient(error, result) with { Permanent = true };
}

/// <summary>
/// What tasks act on. Object stores by name (<c>default</c> is the one the control plane configures); any of these may be
/// missing, and then tasks of the types that need it fail permanently with a message saying so.
/// </summary>
public sealed record TaskTargets
{
    public IReadOnlyDictionary<string, IObjectStore> ObjectStores { get; init; } = new Dictionary<string, IObjectStore>();
    public IFunctionInvoker? Functions { get; init; }
    public IProcessRuntime? Runtime { get; init; }
    /// <summary>Fetches <c>object.upload</c> sources.</summary>
    public HttpClient Http { get; init; } = new(new SocketsHttpHandler { UseProxy = false, AutomaticDecompression = DecompressionMethods.None }) { Timeout = Timeout.InfiniteTimeSpan };
}

/// <summary>
/// Runs one attempt of a task by its type. Never throws for a failure of the work (it returns an outcome); throws
/// <see cref="OperationCanceledException"/> when <c>cancellationToken</c> fires, after stopping what it started (a job's
/// process is sent SIGTERM, then SIGKILL after <see cref="TaskAgentOptions.JobStopGrace"/>, and is gone on return).
/// </summary>
public sealed class TaskExecutor(TaskTargets targets, TimeProvider time, TaskAgentOptions options)
{
    public async Task<TaskOutcome> ExecuteAsync(TaskRecord task, CancellationToken cancellationToken)
    {
        try
        {
            return task.Type switch
            {
                TaskTypes.ObjectUpload => await UploadAsync(TaskInputs.Upload(task.Input), cancellationToken).ConfigureAwait(false),
                TaskTypes.ObjectCopy => await CopyAsync(TaskInputs.Copy(task.Input), cancellationToken).ConfigureAwait(false),
                TaskTypes.FunctionInvoke => await InvokeAsync(TaskInputs.Invoke(task.Input), cancellationToken).ConfigureAwait(false),
                TaskTypes.Job => await RunJobAsync(task, TaskInputs.Job(task.Input), cancellationToken).ConfigureAwait(false),
                _ => TaskOutcome.Fatal($"unknown task type '{task.Type}'"),
            };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (ArgumentException e)
        {
            // Bad input found only at run time (a key the store refuses): the same input fails every time.
            return TaskOutcome.Fatal(e.Message);
        }
        catch (Exception e)
        {
            return TaskOutcome.Transient($"{e.GetType().Name}: {e.Message}");
        }
    }

    private IObjectStore? Store(string name) => targets.ObjectStores.GetValueOrDefault(name);

    private string UnknownStore(string name) => targets.ObjectStores.Count == 0
        ? "no object store is configured in this control plane"
        : $"unknown object store '{name}' (known: {string.Join(", ", targets.ObjectStores.Keys.Order(StringComparer.Ordinal))})";

    private async Task<TaskOutcome> UploadAsync(UploadInput input, CancellationToken ct)
    {
        if (Store(input.Store) is not { } store)
        {
            return TaskOutcome.Fatal(UnknownStore(input.Store));
        }

        ObjectInfo info;
        try
        {
            if (input.ContentBase64 is { } inline)
            {
                using var content = new MemoryStream(Convert.FromBase64String(inline), writable: false);
                info = await store.PutAsync(input.Key, content, input.ContentType, input.Sha256, ct).ConfigureAwait(false);
            }
            else
            {
                using var response = await targets.Http.GetAsync(new Uri(input.SourceUrl!), HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                if (!response.IsSuccessStatusCode)
                {
                    var error = $"source {Redact(input.SourceUrl!)} answered {status} {response.ReasonPhrase}";
                    // Retrying helps only when the source itself may recover.
                    return status is 408 or 425 or 429 or >= 500 ? TaskOutcome.Transient(error) : TaskOutcome.Fatal(error);
                }

                var contentType = input.ContentType ?? response.Content.Headers.ContentType?.ToString();
                await using var body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
                info = await store.PutAsync(input.Key, body, contentType, input.Sha256, ct).ConfigureAwait(false);
            }
        }
        catch (InvalidDataException e)
        {
            // The content did not match the expected SHA-256: a truncated download may do better next time.
            return TaskOutcome.Transient($"content does not match sha256: {e.Message}");
        }
        catch (HttpRequestException e)
        {
            return TaskOutcome.Transient($"fetching {Redact(input.SourceUrl!)} failed: {e.Message}");
        }

        return TaskOutcome.Success(new { store = input.Store, info.Key, info.Size, info.Sha256, info.ContentType });
    }

    private async Task<TaskOutcome> CopyAsync(CopyInput input, CancellationToken ct)
    {
        if (Store(input.FromStore) is not { } from)
        {
            return TaskOutcome.Fatal(UnknownStore(input.FromStore));
        }

        if (Store(input.ToStore) is not { } to)
        {
            return TaskOutcome.Fatal(UnknownStore(input.ToStore));
        }

        ObjectInfo? info;
        if (input.FromStore == input.ToStore)
        {
            info = await from.CopyAsync(input.FromKey, input.ToKey, ct).ConfigureAwait(false);
        }
        else if (await from.GetAsync(input.FromKey, ct).ConfigureAwait(false) is { } source)
        {
            await using (source.Content.ConfigureAwait(false))
            {
                // The digest the source recorded checks that every byte arrived.
                info = await to.PutAsync(input.ToKey, source.Content, source.Info.ContentType, source.Info.Sha256, ct).ConfigureAwait(false);
            }
        }
        else
        {
            info = null;
        }

        return info is null
            ? TaskOutcome.Fatal($"source object '{input.FromKey}' does not exist in store '{input.FromStore}'")
            : TaskOutcome.Success(new { store = input.ToStore, info.Key, info.Size, info.Sha256, info.ContentType, from = $"{input.FromStore}:{input.FromKey}" });
    }

    private async Task<TaskOutcome> InvokeAsync(InvokeInput input, CancellationToken ct)
    {
        if (targets.Functions is not { } functions)
        {
            return TaskOutcome.Fatal("functions are not configured in this control plane");
        }

        var r = await functions.InvokeAsync(input.Function, input.Version, input.Event, ct).ConfigureAwait(false);
        var result = new { r.Function, r.Version, status = r.Status, r.Response, r.Cold, r.DurationMs, r.Logs };
        return r.Status switch
        {
            InvocationStatus.Succeeded => TaskOutcome.Success(result),
            InvocationStatus.NotFound => TaskOutcome.Fatal(r.Error ?? $"function '{input.Function}' not found", result),
            _ => TaskOutcome.Transient($"function {input.Function} v{r.Version}: {Snake(r.Status)}{(r.Error is null ? "" : ": " + r.Error)}", result),
        };
    }

    private async Task<TaskOutcome> RunJobAsync(TaskRecord task, JobInput input, CancellationToken ct)
    {
        if (targets.Runtime is not { } runtime)
        {
            return TaskOutcome.Fatal("no process runtime is configured in this control plane");
        }

        var logPath = Path.GetFullPath(Path.Combine(options.LogDirectory, task.Id + ".log"));
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        await File.AppendAllTextAsync(logPath, $"--- attempt {task.Attempts} at {time.GetUtcNow():O}\n", ct).ConfigureAwait(false);
        var offset = new FileInfo(logPath).Length;

        IProcessHandle handle;
        try
        {
            handle = await runtime.StartAsync(new LaunchRequest
            {
                InstanceId = $"{task.Id}-{task.Attempts}",
                Command = input.Command,
                Args = input.Args,
                Env = input.Env,
                LogPath = logPath,
            }, ct).ConfigureAwait(false);
        }
        catch (LaunchException e)
        {
            return e.Reason == "command_not_found" ? TaskOutcome.Fatal(e.Message) : TaskOutcome.Transient(e.Message);
        }

        var started = time.GetTimestamp();
        ExitInfo exit;
        var timedOut = false;
        try
        {
            exit = await handle.Exited.WaitAsync(TimeSpan.FromSeconds(input.TimeoutSeconds), time, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            timedOut = true;
            await runtime.StopAsync(handle, options.JobStopGrace, CancellationToken.None).ConfigureAwait(false);
            exit = await handle.Exited.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await runtime.StopAsync(handle, options.JobStopGrace, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        var result = new JobResult(handle.Pid, exit.ExitCode, exit.Signal, timedOut,
            Math.Round(time.GetElapsedTime(started).TotalMilliseconds, 1), await TailAsync(logPath, offset, options.LogTailLines).ConfigureAwait(false));
        if (timedOut)
        {
            return TaskOutcome.Transient($"timed out after {input.TimeoutSeconds} s (stopped; {exit})", result);
        }

        return exit.Clean ? TaskOutcome.Success(result) : TaskOutcome.Transient(exit.ToString(), result);
    }

    /// <summary>The last <paramref name="lines"/> lines written after <paramref name="offset"/>, reading at most 64 KiB.</summary>
    private static async Task<IReadOnlyList<string>> TailAsync(string path, long offset, int lines)
    {
        const int MaxBytes = 64 * 1024;
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var start = Math.Max(offset, file.Length - MaxBytes);
        file.Seek(start, SeekOrigin.Begin);
        var buffer = new byte[file.Length - start];
        await file.ReadExactlyAsync(buffer).ConfigureAwait(false);
        var text = Encoding.UTF8.GetString(buffer);
        var all = text.Split('\n');
        var kept = all.Length > 0 && all[^1].Length == 0 ? all[..^1] : all;
        return kept.Skip(Math.Max(0, kept.Length - lines)).ToArray();
    }

    /// <summary>A URL without its user info or query (either may carry a credential).</summary>
    private static string Redact(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) ? $"{u.Scheme}://{u.Host}{(u.IsDefaultPort ? "" : ":" + u.Port.ToString(CultureInfo.InvariantCulture))}{u.AbsolutePath}" : "(url)";

    private static string Snake(InvocationStatus s) => JsonNamingPolicy.SnakeCaseLower.ConvertName(s.ToString());
}

/// <summary>The result of a job attempt: how it ended and the end of its log.</summary>
public sealed record JobResult(int Pid, int? ExitCode, int? Signal, bool TimedOut, double DurationMs, IReadOnlyList<string> LogTail);
