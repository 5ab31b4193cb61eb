namespace Autonomic.Core.Abstractions;

/// <summary>The two kinds of function package.</summary>
public static class FunctionKinds
{
    /// <summary>A C# source file compiled at deploy time and run by the function host.</summary>
    public const string CSharp = "csharp";
    /// <summary>Any executable speaking the line protocol on stdin/stdout.</summary>
    public const string Exec = "exec";
}

/// <summary>
/// What a deploy asks for. <see cref="Source"/> is the C# text of a <c>csharp</c> function, or the script of an
/// <c>exec</c> function (stored as <see cref="FileName"/> and run by <see cref="Command"/>, which defaults to
/// <c>./FILENAME</c>). Limits left null take the invoker's defaults.
/// </summary>
public sealed record FunctionDeployment
{
    public required string Name { get; init; }
    public required string Kind { get; init; }
    public string? Source { get; init; }
    public string? FileName { get; init; }
    public IReadOnlyList<string>? Command { get; init; }
    public int? TimeoutMs { get; init; }
    public int? MemoryMb { get; init; }
    public int? CpuSeconds { get; init; }
    /// <summary>Most workers (concurrent invocations) of one version.</summary>
    public int? MaxWorkers { get; init; }
    /// <summary>Workers kept warm even when idle (pre-warm).</summary>
    public int? MinIdle { get; init; }
    /// <summary>Variables the workers get, besides PATH, HOME, TMPDIR and LANG; nothing else is inherited.</summary>
    public IReadOnlyDictionary<string, string>? Env { get; init; }
}

/// <summary>One deployed version. Environment values are not shown, only their names.</summary>
public sealed record FunctionVersionInfo
{
    public required string Name { get; init; }
    public required int Version { get; init; }
    public required string Kind { get; init; }
    public IReadOnlyList<string> Command { get; init; } = [];
    public int TimeoutMs { get; init; }
    public int MemoryMb { get; init; }
    public int? CpuSeconds { get; init; }
    public int MaxWorkers { get; init; }
    public int MinIdle { get; init; }
    public IReadOnlyList<string> EnvNames { get; init; } = [];
    public string Sha256 { get; init; } = "";
    public DateTimeOffset DeployedAt { get; init; }
}

/// <summary>A function and its versions, oldest first; <see cref="Latest"/> is the one invoked by default.</summary>
public sealed record FunctionInfo(string Name, int Latest, IReadOnlyList<FunctionVersionInfo> Versions);

/// <summary>A deploy was refused; <see cref="Errors"/> says why (for C#, one compiler diagnostic a line: file:line:col).</summary>
public sealed class FunctionDeployException(string message, IReadOnlyList<string> errors) : Exception(message)
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>Deploys, lists and deletes functions; <see cref="IFunctionInvoker"/> runs them.</summary>
public interface IFunctionRegistry
{
    /// <summary>Stores a new version (1 for a new name). Throws <see cref="FunctionDeployException"/> for a malformed function.</summary>
    Task<FunctionVersionInfo> DeployAsync(FunctionDeployment deployment, CancellationToken cancellationToken = default);

    Task<IReadOnlyList<FunctionInfo>> ListAsync(CancellationToken cancellationToken = default);

    Task<FunctionInfo?> GetAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Removes every version and stops its workers; false when there was no such function.</summary>
    Task<bool> DeleteAsync(string name, CancellationToken cancellationToken = default);
}
