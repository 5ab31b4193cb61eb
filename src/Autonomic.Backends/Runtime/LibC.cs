using System.Runtime.InteropServices;

namespace Autonomic.Backends.Runtime;

/// <summary>The few libc calls the process runtime needs that .NET does not expose.</summary>
internal static class LibC
{
    internal const int SIGKILL = 9;
    internal const int SIGTERM = 15;
    internal const int SIGCONT = 18;
    internal const int ESRCH = 3;
    internal const int EINTR = 4;
    internal const short POLLIN = 0x001;
    private const int X_OK = 1;
    private const int SC_CLK_TCK = 2;

    // pidfd_open has the same number on every architecture (it postdates the syscall table unification).
    private const long SYS_pidfd_open = 434;

    [StructLayout(LayoutKind.Sequential)]
    internal struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int KillNative(int pid, int sig);

    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern long SyscallNative(long number, long arg1, long arg2);

    [DllImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static extern int PollNative(ref PollFd fds, nuint nfds, int timeout);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int CloseNative(int fd);

    [DllImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static extern int FcntlNative(int fd, int cmd, int arg);

    [DllImport("libc", EntryPoint = "sysconf", SetLastError = true)]
    private static extern long SysconfNative(int name);

    [DllImport("libc", EntryPoint = "access", SetLastError = true)]
    private static extern int AccessNative([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int mode);

    /// <summary>kill(2); returns 0 or the errno.</summary>
    internal static int Kill(int pid, int signal) => KillNative(pid, signal) == 0 ? 0 : Marshal.GetLastPInvokeError();

    /// <summary>A pidfd for <paramref name="pid"/>, or -1 when the kernel or the process refuses one.</summary>
    internal static int PidfdOpen(int pid)
    {
        try
        {
            return (int)SyscallNative(SYS_pidfd_open, pid, 0);
        }
        catch (EntryPointNotFoundException)
        {
            return -1;
        }
    }

    /// <summary>Waits until <paramref name="fd"/> is readable or the timeout passes; true when readable.</summary>
    internal static bool PollReadable(int fd, int timeoutMs)
    {
        var pfd = new PollFd { Fd = fd, Events = POLLIN };
        var n = PollNative(ref pfd, 1, timeoutMs);
        if (n < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            if (errno == EINTR)
            {
                return false;
            }

            throw new InvalidOperationException($"poll on pidfd failed with errno {errno}");
        }

        return n > 0 && pfd.Revents != 0;
    }

    /// <summary>
    /// Marks every descriptor above stderr close-on-exec. .NET opens its own descriptors that way, but ones inherited
    /// from our parent (a shell's pipes, a CI runner's sockets) are not, and a long-lived instance holding them open
    /// would keep, for example, a caller's <c>$(...)</c> capture from ever ending.
    /// </summary>
    internal static void MarkInheritedDescriptorsCloseOnExec()
    {
        const int F_GETFD = 1;
        const int F_SETFD = 2;
        const int FD_CLOEXEC = 1;
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            if (int.TryParse(Path.GetFileName(entry), out var fd) && fd > 2)
            {
                var flags = FcntlNative(fd, F_GETFD, 0);
                if (flags >= 0 && (flags & FD_CLOEXEC) == 0)
                {
                    _ = FcntlNative(fd, F_SETFD, flags | FD_CLOEXEC);
                }
            }
        }
    }

    internal static void Close(int fd) => _ = CloseNative(fd);

    /// <summary>Sets or clears close-on-exec on one descriptor.</summary>
    internal static void SetCloseOnExec(int fd, bool on)
    {
        const int F_GETFD = 1;
        const int F_SETFD = 2;
        const int FD_CLOEXEC = 1;
        var flags = FcntlNative(fd, F_GETFD, 0);
        if (flags >= 0)
        {
            _ = FcntlNative(fd, F_SETFD, on ? flags | FD_CLOEXEC : flags & ~FD_CLOEXEC);
        }
    }

    internal static long ClockTicksPerSecond()
    {
        try
        {
            var v = SysconfNative(SC_CLK_TCK);
            return v > 0 ? v : 100;
        }
        catch (EntryPointNotFoundException)
        {
            return 100;
        }
    }

    internal static bool IsExecutable(string path) => AccessNative(path, X_OK) == 0;
}
