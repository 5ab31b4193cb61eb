using System.Text.Json;

namespace Autonomic.Core.Abstractions;

/// <summary>How one function invocation ended.</summary>
public enum InvocationStatus
{
    Succeeded,
    /// <summary>The handler reported an error or threw.</summary>
    Failed,
    TimedOut,
    /// <summary>The worker went over its memory limit or died.</summary>
    Crashed,
    NotFound,
}

/// <summary>The outcome of an invocation. <see cref="Cold"/> tells whether a new worker process had to start.</summary>
public sealed record InvocationResult
{
    public required InvocationStatus Status { get; init; }
    public JsonElement? Response { get; init; }
    public string? Error { get; init; }
    public required string Function { get; init; }
    public required int Version { get; init; }
    public bool Cold { get; init; }
    /// <summary>Wall-clock time of the whole invocation as the caller saw it.</summary>
    public double DurationMs { get; init; }
    /// <summary>Time the handler itself reported, when it did.</summary>
    public double? HandlerMs { get; init; }
    /// <summary>Lines the handler wrote to stderr during this invocation (bounded).</summary>
    public IReadOnlyList<string> Logs { get; init; } = [];
}

/// <summary>Runs deployed functions: an event in, a response out.</summary>
public interface IFunctionInvoker
{
    /// <summary>Invokes the newest version when <paramref name="version"/> is null.</summary>
    Task<InvocationResult> InvokeAsync(string function, int? version, JsonElement payload, CancellationToken cancellationToken = default);
}
