namespace Autonomic.Core.Abstractions;

/// <summary>Faults that chaos commands can inject into an instance.</summary>
public static class Faults
{
    /// <summary>SIGKILL the process.</summary>
    public const string Kill = "kill";
    /// <summary>SIGSTOP the process: alive but unresponsive.</summary>
    public const string Hang = "hang";
    /// <summary>Ask the workload to leak memory steadily.</summary>
    public const string Leak = "leak";
    /// <summary>Ask the workload to burn CPU.</summary>
    public const string Cpu = "cpu";

    public static readonly IReadOnlyList<string> All = [Kill, Hang, Leak, Cpu];
}

/// <summary>The outcome of a chaos injection.</summary>
public sealed record FaultResult(string Fault, string InstanceId, int Pid, string Detail);

/// <summary>Injects faults into running instances (used by <c>autonomic chaos</c> and chaos scenarios).</summary>
public interface IFaultInjector
{
    /// <summary>
    /// Injects <paramref name="fault"/> into <paramref name="target"/>: <c>SERVICE</c> (its first live instance) or
    /// <c>SERVICE/INDEX</c> or an instance id. Throws <see cref="ArgumentException"/> for an unknown fault or target.
    /// </summary>
    Task<FaultResult> InjectAsync(string fault, string target, CancellationToken cancellationToken = default);
}
