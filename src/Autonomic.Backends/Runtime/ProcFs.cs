using System.Globalization;

namespace Autonomic.Backends.Runtime;

/// <summary>The fields of <c>/proc/PID/stat</c> the runtime uses (1-based field numbers in proc(5)).</summary>
/// <param name="State">Field 3: R, S, D, T, Z, X, ...</param>
/// <param name="ProcessGroup">Field 5.</param>
/// <param name="Session">Field 6.</param>
/// <param name="UserTicks">Field 14, in clock ticks.</param>
/// <param name="SystemTicks">Field 15, in clock ticks.</param>
/// <param name="StartTicks">Field 22, clock ticks after boot.</param>
internal readonly record struct ProcStat(char State, int ProcessGroup, int Session, long UserTicks, long SystemTicks, long StartTicks)
{
    /// <summary>The process has ended and only its exit status is left (zombie or dead).</summary>
    public bool HasEnded => State is 'Z' or 'X' or 'x';
}

/// <summary>The fields of <c>/proc/PID/status</c> the inspector uses.</summary>
internal readonly record struct ProcStatus(long RssBytes, int Threads);

/// <summary>The one place that reads and parses <c>/proc</c>.</summary>
internal static class ProcFs
{
    private static readonly Lazy<long> ClkTck = new(LibC.ClockTicksPerSecond);
    private static readonly Lazy<DateTimeOffset> Boot = new(ReadBootTime);

    /// <summary>USER_HZ: the unit of the tick fields of <c>/proc/PID/stat</c>.</summary>
    public static long ClockTicksPerSecond => ClkTck.Value;

    /// <summary>Wall-clock time of boot (<c>btime</c> of <c>/proc/stat</c>).</summary>
    public static DateTimeOffset BootTime => Boot.Value;

    /// <summary>Null when the process does not exist (or vanished while being read).</summary>
    public static ProcStat? ReadStat(int pid)
    {
        var text = TryRead($"/proc/{pid}/stat");
        return text is null ? null : ParseStat(text);
    }

    /// <summary>Parses a stat line. Field 2 <c>(comm)</c> may hold spaces and parentheses, so fields are counted after the LAST ')'.</summary>
    public static ProcStat? ParseStat(string text)
    {
        var close = text.LastIndexOf(')');
        if (close < 0 || close + 2 >= text.Length)
        {
            return null;
        }

        var f = text[(close + 2)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        // f[0] is field 3.
        const int Offset = 3;
        if (f.Length <= 22 - Offset)
        {
            return null;
        }

        return new ProcStat(
            f[0][0],
            int.Parse(f[5 - Offset], CultureInfo.InvariantCulture),
            int.Parse(f[6 - Offset], CultureInfo.InvariantCulture),
            long.Parse(f[14 - Offset], CultureInfo.InvariantCulture),
            long.Parse(f[15 - Offset], CultureInfo.InvariantCulture),
            long.Parse(f[22 - Offset], CultureInfo.InvariantCulture));
    }

    /// <summary>Null when the process does not exist. A zombie has no VmRSS line: its RSS reads as 0.</summary>
    public static ProcStatus? ReadStatus(int pid)
    {
        var text = TryRead($"/proc/{pid}/status");
        if (text is null)
        {
            return null;
        }

        long rssKb = 0;
        var threads = 0;
        foreach (var line in text.AsSpan().EnumerateLines())
        {
            var colon = line.IndexOf(':');
            if (colon <= 0)
            {
                continue;
            }

            var key = line[..colon];
            var value = line[(colon + 1)..].Trim();
            if (key.SequenceEqual("VmRSS"))
            {
                var space = value.IndexOf(' ');
                rssKb = long.Parse(space < 0 ? value : value[..space], CultureInfo.InvariantCulture);
            }
            else if (key.SequenceEqual("Threads"))
            {
                threads = int.Parse(value, CultureInfo.InvariantCulture);
            }
        }

        return new ProcStatus(rssKb * 1024, threads);
    }

    /// <summary>Entries of <c>/proc/PID/fd</c>; null when the process is gone, 0 when we may not look.</summary>
    public static int? CountOpenFiles(int pid)
    {
        try
        {
            return Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count();
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>The start ticks of a live (not yet ended) process, or null.</summary>
    /// <summary>Pids of the live processes whose environment holds every one of <paramref name="entries"/> (NAME=value).</summary>
    public static IEnumerable<int> FindByEnvironment(IReadOnlyCollection<string> entries)
    {
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            string environ;
            try
            {
                environ = File.ReadAllText(Path.Combine(dir, "environ"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            var vars = environ.Split('\0');
            if (entries.All(vars.Contains))
            {
                yield return pid;
            }
        }
    }

    public static long? StartTicksOf(int pid) => ReadStat(pid) is { } s ? s.StartTicks : null;

    /// <summary>Converts start ticks to wall-clock time.</summary>
    public static DateTimeOffset StartTimeOf(long startTicks) =>
        BootTime + TimeSpan.FromSeconds((double)startTicks / ClockTicksPerSecond);

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            // A process can vanish between open and read (ESRCH surfaces as IOException).
            return null;
        }
    }

    private static DateTimeOffset ReadBootTime()
    {
        foreach (var line in File.ReadLines("/proc/stat"))
        {
            if (line.StartsWith("btime ", StringComparison.Ordinal))
            {
                return DateTimeOffset.FromUnixTimeSeconds(long.Parse(line.AsSpan(6).Trim(), CultureInfo.InvariantCulture));
            }
        }

        return DateTimeOffset.UnixEpoch;
    }
}
