using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Autonomic.Backends.Functions;

/// <summary>
/// Lambda-style functions on this machine. Deploy stores a package under <see cref="FunctionsOptions.Directory"/>
/// (<c>NAME/VERSION/</c>) and its metadata in the document store's <c>functions</c> collection (one document per name
/// with every version); invoke runs the event through a warm pool of sandboxed workers of that version
/// (<see cref="WorkerPool"/>). Metadata read from the store is cached per name; deploy and delete through this
/// service keep the cache true.
/// </summary>
public sealed partial class FunctionService : IFunctionInvoker, IFunctionRegistry, IAsyncDisposable
{
    /// <summary>The document store collection holding function metadata.</summary>
    public const string Collection = "functions";

    private const int MaxListed = 1000;
    private readonly IDocumentStore _store;
    private readonly FunctionsOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, FunctionDocument> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Name, int Version), Lazy<WorkerPool>> _pools = new();
    private readonly ConcurrentDictionary<string, FunctionLog> _logs = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task _reaper;
    private readonly string _root;
    private readonly string _tempRoot;
    private int _disposed;

    public FunctionService(IDocumentStore store, FunctionsOptions options, TimeProvider time, ILogger<FunctionService>? logger = null)
    {
        _store = store;
        _options = options;
        _time = time;
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _root = Path.GetFullPath(options.Directory);
        _tempRoot = Path.GetFullPath(options.TempRoot ?? Path.Combine(Path.GetTempPath(), "autonomic-fn"));
        Directory.CreateDirectory(_tempRoot);
        _reaper = Task.Run(ReapLoopAsync);
    }

    // ---- registry -------------------------------------------------------------------------------------------

    public async Task<FunctionVersionInfo> DeployAsync(FunctionDeployment deployment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        var spec = Validate(deployment);
        byte[]? compiled = null;
        if (spec.Kind == FunctionKinds.CSharp)
        {
            var result = await Task.Run(() => CSharpFunctionCompiler.Compile("fn-" + spec.Name, spec.FileName, spec.Source!), cancellationToken);
            if (!result.Succeeded)
            {
                throw new FunctionDeployException($"{spec.FileName} does not compile ({result.Errors.Count} error{(result.Errors.Count == 1 ? "" : "s")})", result.Errors);
            }

            compiled = result.Assembly;
        }

        for (var attempt = 0; ; attempt++)
        {
            var stored = await _store.GetDocumentAsync(Collection, spec.Name, cancellationToken);
            var document = stored is null ? new FunctionDocument { Name = spec.Name } : Parse(stored.Json);
            var version = document.Versions.Count == 0 ? 1 : document.Versions.Max(v => v.Version) + 1;
            var entry = spec with { Version = version, DeployedAt = _time.GetUtcNow() };

            var staging = Path.Combine(_root, spec.Name, $".staging-{Guid.NewGuid():N}");
            var final = Path.Combine(_root, spec.Name, version.ToString(System.Globalization.CultureInfo.InvariantCulture));
            WritePackage(staging, entry, compiled);
            var next = document with { Latest = version, Versions = [.. document.Versions, entry] };
            var written = await _store.PutDocumentAsync(Collection, spec.Name, JsonSerializer.Serialize(next, JsonDefaults.Options), stored?.Version ?? 0, cancellationToken);
            if (written is null)
            {
                Directory.Delete(staging, recursive: true);
                if (attempt >= 5)
                {
                    throw new InvalidOperationException($"function {spec.Name} is being deployed concurrently; try again");
                }

                continue;
            }

            if (Directory.Exists(final))
            {
                // Left over from an earlier function of the same name that was deleted.
                Directory.Delete(final, recursive: true);
            }

            Directory.Move(staging, final);
            _cache[spec.Name] = next;
            LogDeployed(_logger, spec.Name, version, spec.Kind);
            if (entry.MinIdle > 0)
            {
                _ = PoolFor(entry).PrewarmAsync(_stopping.Token);
            }

            return ToInfo(entry);
        }
    }

    public async Task<IReadOnlyList<FunctionInfo>> ListAsync(CancellationToken cancellationToken = default)
    {
        var documents = await _store.ListDocumentsAsync(Collection, MaxListed, cancellationToken);
        return [.. documents.Select(d => ToInfo(Parse(d.Json))).OrderBy(f => f.Name, StringComparer.Ordinal)];
    }

    public async Task<FunctionInfo?> GetAsync(string name, CancellationToken cancellationToken = default)
    {
        var document = await LoadAsync(name, fresh: true, cancellationToken);
        return document is null ? null : ToInfo(document);
    }

    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default)
    {
        if (!NamePattern().IsMatch(name))
        {
            return false;
        }

        var deleted = await _store.DeleteDocumentAsync(Collection, name, cancellationToken);
        _cache.TryRemove(name, out _);
        foreach (var key in _pools.Keys.Where(k => k.Name == name).ToList())
        {
            if (_pools.TryRemove(key, out var pool) && pool.IsValueCreated)
            {
                await pool.Value.DisposeAsync();
            }
        }

        var directory = Path.Combine(_root, name);
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        if (_logs.TryRemove(name, out var log))
        {
            log.Dispose();
        }

        return deleted;
    }

    // ---- invoker --------------------------------------------------------------------------------------------

    public async Task<InvocationResult> InvokeAsync(string function, int? version, JsonElement payload, CancellationToken cancellationToken = default)
    {
        var document = NamePattern().IsMatch(function) ? await LoadAsync(function, fresh: false, cancellationToken) : null;
        var entry = document is null ? null
            : version is { } v ? document.Versions.FirstOrDefault(x => x.Version == v)
            : document.Versions.FirstOrDefault(x => x.Version == document.Latest);
        if (entry is null && document is not null && version is not null)
        {
            // Deployed elsewhere since we cached it?
            document = await LoadAsync(function, fresh: true, cancellationToken);
            entry = document?.Versions.FirstOrDefault(x => x.Version == version);
        }

        if (entry is null)
        {
            return new InvocationResult
            {
                Status = InvocationStatus.NotFound,
                Function = function,
                Version = version ?? 0,
                Error = document is null ? $"no function is named '{function}'" : $"function '{function}' has no version {version}",
            };
        }

        return await PoolFor(entry).InvokeAsync(payload, cancellationToken);
    }

    /// <summary>Stops the idle workers of a function (every function when null): the next invocation is cold.</summary>
    public async Task DrainIdleAsync(string? function = null)
    {
        foreach (var (key, pool) in _pools)
        {
            if ((function is null || key.Name == function) && pool.IsValueCreated)
            {
                await pool.Value.DrainIdleAsync();
            }
        }
    }

    /// <summary>The live workers of one version: pid and private temporary directory.</summary>
    public IReadOnlyList<(int Pid, string TempDirectory)> Workers(string function, int version) =>
        _pools.TryGetValue((function, version), out var pool) && pool.IsValueCreated ? pool.Value.Workers : [];

    /// <summary>Retires idle workers and pre-warms pools now (also done every <see cref="FunctionsOptions.ReapInterval"/>).</summary>
    public async Task ReapAsync(CancellationToken cancellationToken = default)
    {
        foreach (var pool in _pools.Values.Where(p => p.IsValueCreated).Select(p => p.Value).ToList())
        {
            await pool.ReapAsync(_options.IdleTimeout, cancellationToken);
        }
    }

    /// <summary>The per-function log file.</summary>
    public string LogPath(string function) => Path.Combine(_options.LogDirectory, $"fn-{function}.log");

    private WorkerPool PoolFor(FunctionEntry entry) =>
        _pools.GetOrAdd((entry.Name, entry.Version), _ => new Lazy<WorkerPool>(() => CreatePool(entry))).Value;

    private WorkerPool CreatePool(FunctionEntry entry)
    {
        var log = _logs.GetOrAdd(entry.Name, n => new FunctionLog(LogPath(n), _time));
        var package = Path.Combine(_root, entry.Name, entry.Version.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var launch = new WorkerLaunch
        {
            Function = entry.Name,
            Version = entry.Version,
            Argv = Argv(entry, package),
            Env = Environment(entry),
            WorkingDirectory = package,
            TempRoot = _tempRoot,
            AwaitReady = entry.Kind == FunctionKinds.CSharp,
            StartTimeout = _options.StartTimeout,
            MaxLogLines = _options.MaxLogLinesPerInvocation,
        };
        return new WorkerPool(launch, entry.MaxWorkers, entry.MinIdle, TimeSpan.FromMilliseconds(entry.TimeoutMs), _time,
            (worker, line) => log.Append(entry.Version, worker.Pid, line));
    }

    /// <summary>
    /// setsid (own session and process group), then prlimit: RLIMIT_AS for exec functions; for the .NET host the
    /// managed heap is capped with DOTNET_GCHeapHardLimit instead, as the runtime reserves far more address space
    /// than it uses. RLIMIT_CPU (whole seconds, over the worker's life) when the function sets cpuSeconds.
    /// </summary>
    private List<string> Argv(FunctionEntry entry, string package)
    {
        var argv = new List<string> { "/usr/bin/setsid", "/usr/bin/prlimit" };
        if (entry.Kind == FunctionKinds.Exec)
        {
            argv.Add($"--as={(long)entry.MemoryMb * 1024 * 1024}");
        }

        if (entry.CpuSeconds is { } cpu)
        {
            argv.Add($"--cpu={cpu}:{cpu + 1}");
        }

        argv.Add("--");
        if (entry.Kind == FunctionKinds.CSharp)
        {
            argv.Add(DotnetPath());
            argv.Add(HostAssembly());
            argv.Add(Path.Combine(package, "handler.dll"));
        }
        else
        {
            var command = entry.Command.ToList();
            if (command[0].StartsWith("./", StringComparison.Ordinal))
            {
                command[0] = Path.Combine(package, command[0][2..]);
            }

            argv.AddRange(command);
        }

        return argv;
    }

    private Dictionary<string, string> Environment(FunctionEntry entry)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = _options.WorkerPath,
            ["LANG"] = "C.UTF-8",
        };
        if (entry.Kind == FunctionKinds.CSharp)
        {
            env["DOTNET_GCHeapHardLimit"] = "0x" + ((long)entry.MemoryMb * 1024 * 1024).ToString("X", System.Globalization.CultureInfo.InvariantCulture);
            env["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            env["DOTNET_TieredPGO"] = "0";
            env["DOTNET_gcConcurrent"] = "0";
        }

        foreach (var (key, value) in entry.Env)
        {
            env[key] = value;
        }

        return env;
    }

    private string HostAssembly()
    {
        var path = _options.HostAssembly ?? Path.Combine(AppContext.BaseDirectory, "autonomic-fnhost.dll");
        return File.Exists(path) ? path : throw new FunctionWorkerException($"the function host {path} is missing; rebuild the CLI");
    }

    private string DotnetPath()
    {
        if (_options.DotnetPath is { } configured)
        {
            return configured;
        }

        // The muxer of the runtime this process runs on: .../dotnet/shared/Microsoft.NETCore.App/VERSION/ -> .../dotnet/dotnet
        var runtimeDir = RuntimeEnvironment.GetRuntimeDirectory();
        var candidate = Path.GetFullPath(Path.Combine(runtimeDir, "..", "..", "..", "dotnet"));
        if (File.Exists(candidate))
        {
            return candidate;
        }

        var self = System.Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "dotnet" ? self : "/usr/bin/dotnet";
    }

    // ---- validation and storage -----------------------------------------------------------------------------

    private FunctionEntry Validate(FunctionDeployment d)
    {
        var errors = new List<string>();
        if (d.Name is null || !NamePattern().IsMatch(d.Name))
        {
            errors.Add($"name '{d.Name}' is invalid: 1 to 63 characters, lowercase letters, digits and '-', starting with a letter");
        }

        if (d.Kind is not (FunctionKinds.CSharp or FunctionKinds.Exec))
        {
            errors.Add($"kind '{d.Kind}' is unknown: use '{FunctionKinds.CSharp}' or '{FunctionKinds.Exec}'");
        }

        if (d.Source is not null && Encoding.UTF8.GetByteCount(d.Source) > _options.MaxSourceBytes)
        {
            errors.Add($"source is larger than {_options.MaxSourceBytes} bytes");
        }

        var fileName = d.FileName ?? (d.Kind == FunctionKinds.CSharp ? "handler.cs" : "handler");
        if (!FileNamePattern().IsMatch(fileName) || fileName is "handler.dll" or "function.json")
        {
            errors.Add($"fileName '{fileName}' is invalid: a plain file name (letters, digits, '.', '-', '_'), not handler.dll or function.json");
        }

        IReadOnlyList<string> command = [];
        if (d.Kind == FunctionKinds.CSharp)
        {
            if (string.IsNullOrWhiteSpace(d.Source))
            {
                errors.Add("a csharp function needs source: the C# text defining Handler.Handle");
            }

            if (d.Command is { Count: > 0 })
            {
                errors.Add("a csharp function takes no command; it runs in the function host");
            }
        }
        else if (d.Kind == FunctionKinds.Exec)
        {
            command = d.Command is { Count: > 0 } c ? c : d.Source is not null ? [$"./{fileName}"] : [];
            if (command.Count == 0)
            {
                errors.Add("an exec function needs a command (argv array), a source script, or both");
            }
            else if (command.Any(string.IsNullOrEmpty))
            {
                errors.Add("command arguments must not be empty");
            }
            else if (ResolveProgram(command[0], d) is { } problem)
            {
                errors.Add(problem);
            }
        }

        Check(d.TimeoutMs, "timeoutMs", 1, 15 * 60 * 1000, errors);
        Check(d.MemoryMb, "memoryMb", 16, 64 * 1024, errors);
        Check(d.CpuSeconds, "cpuSeconds", 1, 24 * 3600, errors);
        Check(d.MaxWorkers, "maxWorkers", 1, 64, errors);
        var maxWorkers = d.MaxWorkers ?? _options.DefaultMaxWorkers;
        Check(d.MinIdle, "minIdle", 0, maxWorkers, errors);
        foreach (var key in d.Env?.Keys ?? [])
        {
            if (!EnvNamePattern().IsMatch(key) || key is "HOME" or "TMPDIR")
            {
                errors.Add($"env name '{key}' is invalid: letters, digits and '_', not HOME or TMPDIR (set per worker)");
            }
        }

        if (errors.Count > 0)
        {
            throw new FunctionDeployException(errors.Count == 1 ? errors[0] : $"{errors.Count} problems with the function", errors);
        }

        return new FunctionEntry
        {
            Name = d.Name!,
            Kind = d.Kind,
            FileName = fileName,
            Source = d.Source,
            Command = command,
            TimeoutMs = d.TimeoutMs ?? _options.DefaultTimeoutMs,
            MemoryMb = d.MemoryMb ?? _options.DefaultMemoryMb,
            CpuSeconds = d.CpuSeconds,
            MaxWorkers = maxWorkers,
            MinIdle = d.MinIdle ?? 0,
            Env = d.Env?.ToDictionary(StringComparer.Ordinal) ?? [],
            Sha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(d.Source ?? string.Join('\0', command)))),
        };
    }

    /// <summary>The program must exist: in the package (./FILE, from source), absolute, or on the workers' PATH.</summary>
    private string? ResolveProgram(string program, FunctionDeployment d)
    {
        if (program.StartsWith("./", StringComparison.Ordinal))
        {
            return d.Source is not null && program[2..] == (d.FileName ?? "handler")
                ? null
                : $"command '{program}' names a package file, but the only package file is the source ({d.FileName ?? "handler"})";
        }

        if (program.StartsWith('/'))
        {
            return File.Exists(program) ? null : $"command '{program}' does not exist";
        }

        if (program.Contains('/', StringComparison.Ordinal))
        {
            return $"command '{program}' must be absolute, ./FILE from the source, or a name on PATH";
        }

        var path = d.Env is not null && d.Env.TryGetValue("PATH", out var p) ? p : _options.WorkerPath;
        return path.Split(':', StringSplitOptions.RemoveEmptyEntries).Any(dir => File.Exists(Path.Combine(dir, program)))
            ? null
            : $"command '{program}' is not on the workers' PATH ({path})";
    }

    private static void Check(int? value, string name, int min, int max, List<string> errors)
    {
        if (value is { } v && (v < min || v > max))
        {
            errors.Add($"{name} must be from {min} to {max}, not {v}");
        }
    }

    private static void WritePackage(string directory, FunctionEntry entry, byte[]? compiled)
    {
        Directory.CreateDirectory(directory);
        if (entry.Source is not null)
        {
            var file = Path.Combine(directory, entry.FileName);
            File.WriteAllText(file, entry.Source);
            if (entry.Kind == FunctionKinds.Exec && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupRead | UnixFileMode.GroupExecute);
            }
        }

        if (compiled is not null)
        {
            File.WriteAllBytes(Path.Combine(directory, "handler.dll"), compiled);
        }

        File.WriteAllText(Path.Combine(directory, "function.json"), JsonSerializer.Serialize(entry with { Source = null, Env = new Dictionary<string, string>() }, JsonDefaults.Options));
    }

    private async Task<FunctionDocument?> LoadAsync(string name, bool fresh, CancellationToken cancellationToken)
    {
        if (!fresh && _cache.TryGetValue(name, out var cached))
        {
            return cached;
        }

        // A name no function can have (too long, bad characters) names none: not found, not an error.
        var stored = NamePattern().IsMatch(name) ? await _store.GetDocumentAsync(Collection, name, cancellationToken) : null;
        if (stored is null)
        {
            _cache.TryRemove(name, out _);
            return null;
        }

        var document = Parse(stored.Json);
        _cache[name] = document;
        return document;
    }

    private static FunctionDocument Parse(string json) =>
        JsonSerializer.Deserialize<FunctionDocument>(json, JsonDefaults.Options) ?? throw new JsonException("a function document is null");

    private static FunctionInfo ToInfo(FunctionDocument d) =>
        new(d.Name, d.Latest, [.. d.Versions.OrderBy(v => v.Version).Select(ToInfo)]);

    private static FunctionVersionInfo ToInfo(FunctionEntry e) => new()
    {
        Name = e.Name,
        Version = e.Version,
        Kind = e.Kind,
        Command = e.Command,
        TimeoutMs = e.TimeoutMs,
        MemoryMb = e.MemoryMb,
        CpuSeconds = e.CpuSeconds,
        MaxWorkers = e.MaxWorkers,
        MinIdle = e.MinIdle,
        EnvNames = [.. e.Env.Keys.Order(StringComparer.Ordinal)],
        Sha256 = e.Sha256,
        DeployedAt = e.DeployedAt,
    };

    private async Task ReapLoopAsync()
    {
        using var timer = new PeriodicTimer(_options.ReapInterval, _time);
        try
        {
            await PrewarmDeployedAsync(_stopping.Token);
            while (await timer.WaitForNextTickAsync(_stopping.Token))
            {
                try
                {
                    await ReapAsync(_stopping.Token);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogReapFailed(_logger, e);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Shutting down.
        }
    }

    /// <summary>After a restart: pre-warms the latest version of every function that asks for idle workers.</summary>
    private async Task PrewarmDeployedAsync(CancellationToken cancellationToken)
    {
        try
        {
            foreach (var stored in await _store.ListDocumentsAsync(Collection, MaxListed, cancellationToken))
            {
                var document = Parse(stored.Json);
                _cache.TryAdd(document.Name, document);
                if (document.Versions.FirstOrDefault(v => v.Version == document.Latest) is { MinIdle: > 0 } entry)
                {
                    await PoolFor(entry).PrewarmAsync(cancellationToken);
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogReapFailed(_logger, e);
        }
    }

    /// <summary>Stops every worker. Idempotent: the container disposes it once per interface it is registered as.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync();
        await _reaper;
        await Task.WhenAll(_pools.Values.Where(p => p.IsValueCreated).Select(p => p.Value.DisposeAsync().AsTask()));
        _pools.Clear();
        foreach (var log in _logs.Values)
        {
            log.Dispose();
        }

        _stopping.Dispose();
    }

    [GeneratedRegex("^[a-z][a-z0-9-]{0,62}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex FileNamePattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,127}$")]
    private static partial Regex EnvNamePattern();

    [LoggerMessage(Level = LogLevel.Information, Message = "function {Name} version {Version} deployed ({Kind})")]
    private static partial void LogDeployed(ILogger logger, string name, int version, string kind);

    [LoggerMessage(Level = LogLevel.Warning, Message = "retiring or pre-warming function workers failed; retrying")]
    private static partial void LogReapFailed(ILogger logger, Exception exception);
}

/// <summary>The stored metadata of a function: every version, and the one invoked by default.</summary>
internal sealed record FunctionDocument
{
    public required string Name { get; init; }
    public int Latest { get; init; }
    public IReadOnlyList<FunctionEntry> Versions { get; init; } = [];
}

/// <summary>One stored version (the source itself lives in the package directory, not in the document).</summary>
internal sealed record FunctionEntry
{
    public required string Name { get; init; }
    public int Version { get; init; }
    public required string Kind { get; init; }
    public string FileName { get; init; } = "handler";
    [System.Text.Json.Serialization.JsonIgnore]
    public string? Source { get; init; }
    public IReadOnlyList<string> Command { get; init; } = [];
    public int TimeoutMs { get; init; }
    public int MemoryMb { get; init; }
    public int? CpuSeconds { get; init; }
    public int MaxWorkers { get; init; }
    public int MinIdle { get; init; }
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();
    public string Sha256 { get; init; } = "";
    public DateTimeOffset DeployedAt { get; init; }
}
