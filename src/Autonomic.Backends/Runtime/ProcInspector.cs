using Autonomic.Core.Abstractions;

namespace Autonomic.Backends.Runtime;

/// <summary>
/// Samples a process from <c>/proc</c>: resident memory and threads from <c>status</c>, CPU time (user + system)
/// from <c>stat</c>, open files as the entries of <c>fd</c> (0 when we may not look). Null once the process is gone,
/// including when only its zombie is left.
/// </summary>
public sealed class ProcInspector : IProcessInspector
{
    public ProcessSample? Sample(int pid, DateTimeOffset now)
    {
        if (pid <= 0 || ProcFs.ReadStat(pid) is not { HasEnded: false } stat)
        {
            return null;
        }

        if (ProcFs.ReadStatus(pid) is not { } status || ProcFs.CountOpenFiles(pid) is not { } files)
        {
            return null;
        }

        var cpu = (double)(stat.UserTicks + stat.SystemTicks) / ProcFs.ClockTicksPerSecond;
        return new ProcessSample(now, status.RssBytes, cpu, files, status.Threads);
    }
}
