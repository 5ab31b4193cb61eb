namespace Autonomic.Core.Security;

/// <summary>A secret file is readable by others than its owner; the message names the file and how to fix it.</summary>
public sealed class InsecureSecretFileException(string message) : Exception(message);

/// <summary>
/// Reads secrets only from files only their owner can read, or from the environment. A world- or group-readable
/// secret file is refused with a clear error rather than used.
/// </summary>
public static class SecretFile
{
    /// <summary>The file's text without a trailing newline; throws when it is missing or readable by group or others.</summary>
    public static string Read(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"secret file {path} does not exist", path);
        }

        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            const UnixFileMode Loose = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
                                       UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
            if ((mode & Loose) != 0)
            {
                throw new InsecureSecretFileException(
                    $"secret file {path} is readable by others (mode {Convert.ToString((int)mode, 8)}); run: chmod 600 {path}");
            }
        }

        return File.ReadAllText(path).TrimEnd('\r', '\n');
    }

    /// <summary>
    /// A secret from <c>NAME</c> in the environment, or from the file named by <c>NAME_FILE</c>; null when neither is set.
    /// </summary>
    public static string? FromEnvironment(string name)
    {
        if (Environment.GetEnvironmentVariable(name) is { Length: > 0 } value)
        {
            return value;
        }

        return Environment.GetEnvironmentVariable(name + "_FILE") is { Length: > 0 } file ? Read(file) : null;
    }
}
