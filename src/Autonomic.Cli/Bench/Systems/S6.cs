namespace Autonomic.Cli.Bench.Systems;

/// <summary>s6-svscan over a private scan directory; s6-supervise restarts ./run whenever it exits.</summary>
internal sealed class S6(ServiceSetup setup) : SupervisedSystem(setup)
{
    private string ScanDir => Path.Combine(Setup.Dir, "scan");

    private string ServiceDir => Path.Combine(ScanDir, "bench");

    public override string Name => "s6";

    public override Task StartAsync(CancellationToken ct)
    {
        Directory.CreateDirectory(ServiceDir);
        WriteExecutable(Path.Combine(ServiceDir, "run"), File.ReadAllText(Setup.LaunchScript));
        Daemon = ChildProcess.Start("s6-svscan", [ScanDir], Setup.Dir);
        return Task.CompletedTask;
    }

    public override async Task<int?> GetPidAsync(CancellationToken ct)
    {
        var (code, output) = await ChildProcess.RunAsync("s6-svstat", ["-p", ServiceDir], ToolTimeout, ct);
        return code == 0 ? ParsePid(output) : null;
    }

    protected override async Task StopGracefullyAsync()
    {
        await ChildProcess.RunAsync("s6-svscanctl", ["-t", ScanDir], ToolTimeout, CancellationToken.None);
        await Daemon!.WaitForExitAsync(TimeSpan.FromSeconds(10));
    }
}
