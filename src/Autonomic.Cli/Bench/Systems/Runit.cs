namespace Autonomic.Cli.Bench.Systems;

/// <summary>runsvdir over a private service directory; runsv restarts ./run whenever it exits.</summary>
internal sealed class Runit(ServiceSetup setup) : SupervisedSystem(setup)
{
    private string ServiceLink => Path.Combine(Setup.Dir, "service", "bench");

    private string SvDir => Path.Combine(Setup.Dir, "sv", "bench");

    public override string Name => "runit";

    public override Task StartAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(SvDir);
        Directory.CreateDirectory(Path.GetDirectoryName(ServiceLink)!);
        WriteExecutable(Path.Combine(SvDir, "run"), File.ReadAllText(Setup.LaunchScript));
        File.CreateSymbolicLink(ServiceLink, SvDir);
        Daemon = ChildProcess.Start("runsvdir", ["-P", Path.GetDirectoryName(ServiceLink)!], Setup.Dir);
        return Task.CompletedTask;
    }

    public override Task<int?> GetPidAsync(CancellationToken ct) =>
        ReadPidFileAsync(Path.Combine(SvDir, "supervise", "pid"), ct);

    protected override async Task StopGracefullyAsync()
    {
        // runsv exits on TERM only once its service is down, so bring it down first.
        await ChildProcess.RunAsync("sv", ["-w", "5", "force-stop", ServiceLink], ToolTimeout, CancellationToken.None);
        Daemon!.Signal(Posix.SigHup);
        await Daemon.WaitForExitAsync(TimeSpan.FromSeconds(5));
    }
}
