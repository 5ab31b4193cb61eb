namespace Autonomic.Integration.Tests.Runtime;

/// <summary>Small helpers shared by the runtime tests.</summary>
internal static class RuntimeTestKit
{
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(10);

    public static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "autonomic-runtime-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(d);
        return d;
    }

    /// <summary>Fields after the last ')' of /proc/PID/stat; index 0 is field 3.</summary>
    public static string[]? StatFields(int pid)
    {
        try
        {
            var text = File.ReadAllText($"/proc/{pid}/stat");
            return text[(text.LastIndexOf(')') + 2)..].Split(' ');
        }
        catch (IOException)
        {
            return null;
        }
    }

    public static string? Comm(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/comm").Trim();
        }
        catch (IOException)
        {
            return null;
        }
    }

    public static string ReadShared(string path)
    {
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    public static bool IsGoneOrZombie(int pid) => StatFields(pid) is not { } f || f[0] is "Z" or "X";
}
