namespace Autonomic.Cli.Bench.Systems;

/// <summary>supervisord in the foreground, restarting the service whenever it exits.</summary>
internal sealed class Supervisord(ServiceSetup setup) : SupervisedSystem(setup)
{
    private string Conf => Path.Combine(Setup.Dir, "supervisord.conf");

    public override string Name => "supervisord";

    public override async Task StartAsync(CancellationToken ct)
    {
        var d = Setup.Dir;
        await File.WriteAllTextAsync(Conf, $"""
            [unix_http_server]
            file={d}/supervisor.sock
            [supervisord]
            logfile={d}/supervisord.log
            pidfile={d}/supervisord.pid
            childlogdir={d}
            nodaemon=true
            [rpcinterface:supervisor]
            supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
            [supervisorctl]
            serverurl=unix://{d}/supervisor.sock
            [program:bench]
            command={Setup.LaunchScript}
            autostart=true
            autorestart=true
            startsecs=0
            startretries=1000
            stopsignal=TERM
            stopwaitsecs=5
            stopasgroup=true
            killasgroup=true
            stdout_logfile={d}/bench.stdout.log
            redirect_stderr=true

            """, ct);
        Daemon = ChildProcess.Start("supervisord", ["-n", "-c", Conf], d);
    }

    public override async Task<int?> GetPidAsync(CancellationToken ct)
    {
        var (code, output) = await ChildProcess.RunAsync("supervisorctl", ["-c", Conf, "pid", "bench"], ToolTimeout, ct);
        return code == 0 ? ParsePid(output) : null;
    }

    protected override async Task StopGracefullyAsync()
    {
        await ChildProcess.RunAsync("supervisorctl", ["-c", Conf, "shutdown"], ToolTimeout, CancellationToken.None);
        await Daemon!.WaitForExitAsync(TimeSpan.FromSeconds(10));
    }
}
