using System.Globalization;

namespace Autonomic.Cli.Bench.Systems;

/// <summary>Where one supervised copy of the service lives: its port, scratch directory and launch script.</summary>
internal sealed record ServiceSetup(
    ServiceCommand Command, int Port, string Dir, string LaunchScript, string HealthPath, TimeProvider Time);

/// <summary>
/// A process supervisor under test. Implementations start the supervisor on a fresh <see cref="ServiceSetup"/>,
/// report the service pid as the supervisor itself knows it, and stop with the supervisor's own commands.
/// </summary>
internal abstract class SupervisedSystem : IAsyncDisposable
{
    protected SupervisedSystem(ServiceSetup setup)
    {
        Setup = setup;
    }

    protected ServiceSetup Setup { get; }

    protected ChildProcess? Daemon { get; set; }

    public abstract string Name { get; }

    public int Port => Setup.Port;

    /// <summary>False for supervisors that restart only on exit and so cannot notice a hung process.</summary>
    public virtual bool DetectsHang => false;

    public abstract Task StartAsync(CancellationToken ct);

    /// <summary>The current service pid according to the supervisor, or null when it has none running.</summary>
    public abstract Task<int?> GetPidAsync(CancellationToken ct);

    /// <summary>Stops the supervisor and its service in an orderly way; never throws.</summary>
    protected abstract Task StopGracefullyAsync();

    /// <summary>Diagnostic text for failures: the supervisor's own output tail.</summary>
    public string Diagnostics => Daemon?.Tail ?? "";

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (Daemon is { HasExited: false })
            {
                await StopGracefullyAsync();
            }
        }
        catch (Exception)
        {
            // Cleanup must go on to the hard kill below whatever the supervisor's tools did.
        }
        finally
        {
            Daemon?.Dispose();
            Daemon = null;
            ReleaseResources();
        }
    }

    /// <summary>Frees in-process resources (clients) once the supervisor is gone.</summary>
    protected virtual void ReleaseResources()
    {
    }

    protected static int? ParsePid(string text)
    {
        foreach (var word in text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
        {
            if (int.TryParse(word, NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid))
            {
                return pid > 0 ? pid : null;
            }
        }

        return null;
    }

    protected static async Task<int?> ReadPidFileAsync(string path, CancellationToken ct)
    {
        try
        {
            return ParsePid(await File.ReadAllTextAsync(path, ct));
        }
        catch (IOException)
        {
            return null;
        }
    }

    protected void WriteExecutable(string path, string content)
    {
        File.WriteAllText(path, content);
        Posix.SetMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
    }

    protected static readonly TimeSpan ToolTimeout = TimeSpan.FromSeconds(10);
}
