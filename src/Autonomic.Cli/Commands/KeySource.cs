namespace Autonomic.Cli.Commands;

/// <summary>The key file is unreadable or readable by others.</summary>
internal sealed class KeyFileException(string message) : Exception(message);

/// <summary>Finds the API key a client command sends: <c>--api-key</c>, else <c>AUTONOMIC_API_KEY</c>, else the key file.</summary>
public static class KeySource
{
    private const UnixFileMode Shared = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;

    /// <summary><c>$XDG_CONFIG_HOME/autonomic/key</c>, or <c>~/.config/autonomic/key</c>.</summary>
    public static string DefaultFile()
    {
        var config = Environment.GetEnvironmentVariable("XDG_CONFIG_HOME") is { Length: > 0 } xdg
            ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config");
        return Path.Combine(config, "autonomic", "key");
    }

    /// <summary>The key to send, or null for none. A key file that others may read is refused, as ssh refuses such keys.</summary>
    internal static string? Resolve(string? option, string keyFile)
    {
        if (!string.IsNullOrWhiteSpace(option))
        {
            return option.Trim();
        }

        if (Environment.GetEnvironmentVariable("AUTONOMIC_API_KEY") is { Length: > 0 } env)
        {
            return env.Trim();
        }

        if (!File.Exists(keyFile))
        {
            return null;
        }

        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(keyFile) & Shared) != 0)
        {
            throw new KeyFileException($"the key file {keyFile} is readable or writable by other users; run 'chmod 600 {keyFile}' (the key is not used until then)");
        }

        try
        {
            var key = File.ReadAllText(keyFile).Trim();
            return key.Length == 0 ? null : key;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new KeyFileException($"cannot read the key file {keyFile}: {e.Message}");
        }
    }
}
