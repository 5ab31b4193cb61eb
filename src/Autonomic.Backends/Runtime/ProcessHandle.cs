using Autonomic.Core.Abstractions;

namespace Autonomic.Backends.Runtime;

/// <summary>A process started or adopted by <see cref="ProcessRuntime"/>.</summary>
internal sealed class ProcessHandle(int pid, long startTicks, DateTimeOffset startedAt, Task<ExitInfo> exited, bool isChild)
    : IProcessHandle
{
    public int Pid { get; } = pid;
    public long StartTicks { get; } = startTicks;
    public DateTimeOffset StartedAt { get; } = startedAt;
    public Task<ExitInfo> Exited { get; } = exited;

    /// <summary>Started by this runtime (exit code known) rather than adopted.</summary>
    public bool IsChild { get; } = isChild;

    public override string ToString() => $"pid {Pid}";
}
