using System.Globalization;

namespace Autonomic.Cli.Bench.Systems;

/// <summary>
/// monit at its shortest cycle (<c>set daemon 1</c>) with an HTTP check on the health path, so unlike the
/// exit-only supervisors it can notice a hung service.
/// </summary>
internal sealed class Monit(ServiceSetup setup, int httpdPort) : SupervisedSystem(setup)
{
    private string Rc => Path.Combine(Setup.Dir, "monitrc");

    private string PidFile => Path.Combine(Setup.Dir, "bench.pid");

    public override string Name => "monit";

    public override bool DetectsHang => true;

    public override async Task StartAsync(CancellationToken ct)
    {
        var d = Setup.Dir;
        var stop = Path.Combine(d, "stop.sh");

        // A stopped (SIGSTOP) process keeps TERM pending, so the stop program continues it and falls back
        // to KILL; a zombie awaiting a slow PID 1 counts as gone.
        WriteExecutable(stop, $$"""
            #!/bin/sh
            P=$(cat {{ServiceCommand.Quote(PidFile)}} 2>/dev/null) || exit 0
            [ -n "$P" ] || exit 0
            kill -TERM "$P" 2>/dev/null; kill -CONT "$P" 2>/dev/null
            i=0
            while [ $i -lt 30 ]; do
              S=$(awk '{print $3}' /proc/$P/stat 2>/dev/null)
              if [ -z "$S" ] || [ "$S" = Z ]; then exit 0; fi
              sleep 0.1; i=$((i+1))
            done
            kill -KILL "$P" 2>/dev/null
            exit 0

            """);
        var port = Setup.Port.ToString(CultureInfo.InvariantCulture);
        await File.WriteAllTextAsync(Rc, $"""
            set daemon 1
            set logfile {d}/monit.log
            set pidfile {d}/monit.pid
            set idfile {d}/monit.id
            set statefile {d}/monit.state
            set httpd port {httpdPort} and use address 127.0.0.1
                allow 127.0.0.1
            check process bench with pidfile {PidFile}
                start program = "/bin/sh -c '{Setup.LaunchScript} >/dev/null 2>&1 & echo $! > {PidFile}'" with timeout 1 seconds
                stop program  = "/bin/sh {stop}"
                if failed host 127.0.0.1 port {port} protocol http request "{Setup.HealthPath}" with timeout 1 seconds then restart

            """, ct);
        Posix.SetMode(Rc, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        Daemon = ChildProcess.Start("monit", ["-c", Rc, "-I"], d);
    }

    public override Task<int?> GetPidAsync(CancellationToken ct) => ReadPidFileAsync(PidFile, ct);

    protected override async Task StopGracefullyAsync()
    {
        var pid = await GetPidAsync(CancellationToken.None);
        await ChildProcess.RunAsync("monit", ["-c", Rc, "stop", "all"], ToolTimeout, CancellationToken.None);
        await Poll.UntilAsync(
            () => pid is not { } p || !Posix.IsAlive(p), TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(100),
            Setup.Time, CancellationToken.None);

        await ChildProcess.RunAsync("monit", ["-c", Rc, "quit"], ToolTimeout, CancellationToken.None);
        await Daemon!.WaitForExitAsync(TimeSpan.FromSeconds(5));
    }
}
