using System.Runtime.InteropServices;

namespace Autonomic.Cli.Bench;

/// <summary>Signals and process liveness on Linux, read from the kernel rather than from a supervisor's claims.</summary>
internal static class Posix
{
    public const int SigHup = 1;
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

#pragma warning disable SYSLIB1054 // LibraryImport would need AllowUnsafeBlocks in the CLI project file.
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SysKill(int pid, int sig);
#pragma warning restore SYSLIB1054

    /// <summary>Sends <paramref name="signal"/> to a pid (or, when negative, to a process group).</summary>
    public static bool Signal(int pid, int signal) => pid != 0 && pid != -1 && SysKill(pid, signal) == 0;

    /// <summary>
    /// True when the pid exists and is not a zombie: PID 1 here may reap orphans late, and a zombie
    /// still answers kill(pid, 0).
    /// </summary>
    public static bool IsAlive(int pid)
    {
        if (pid <= 0)
        {
            return false;
        }

        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            return close > 0 && close + 2 < stat.Length && stat[close + 2] is not ('Z' or 'X');
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Sets a file's mode (e.g. 0755 for scripts a supervisor runs); no-op off Unix.</summary>
    public static void SetMode(string path, UnixFileMode mode)
    {
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }
    }

    /// <summary>The NUL-separated command line of a pid joined with spaces, or empty when it is gone.</summary>
    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ').Trim();
        }
        catch (IOException)
        {
            return "";
        }
        catch (UnauthorizedAccessException)
        {
            return "";
        }
    }
}
