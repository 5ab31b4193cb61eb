using System.CommandLine;
using Autonomic.Backends.Fleet;
using Autonomic.Backends.Store.Postgres;
using Autonomic.Cli.Hosting;
using Autonomic.Core.Model;
using Autonomic.Core.Specs;
using Microsoft.Extensions.Logging;

namespace Autonomic.Cli.Commands;

/// <summary><c>autonomic up</c> and <c>autonomic validate</c>: run or check a fleet file.</summary>
public static class UpCommand
{
    /// <summary>The fleet file used when none is named.</summary>
    public const string DefaultFile = "autonomic.yaml";

    public static Command Create()
    {
        var file = FileOption();
        var demo = new Option<bool>("--demo") { Description = "Run the demo fleet (examples/demo.yaml, or the built-in copy) and print what to try next" };
        var leave = new Option<bool>("--leave-running") { Description = "On exit leave the instances running; the next 'autonomic up' re-adopts them" };
        var logging = LogOptions.Create();
        var auth = AuthOption();
        var command = new Command("up", "Start the control plane and keep the fleet alive (Ctrl-C stops it)") { file, demo, leave, logging.Format, logging.Quiet, auth };
        command.SetAction(async (result, ct) =>
        {
            var fleet = LoadOrReport(result.GetValue(file), result.GetValue(demo));
            if (fleet is null)
            {
                return 2;
            }

            if (ControlPlane.IsPortTaken(fleet.Settings.Api))
            {
                await Console.Error.WriteLineAsync($"error: the API address {fleet.Settings.Api} is already in use — is another control plane running? ('autonomic status' asks it) Set control_plane.api or AUTONOMIC_API to use another port.").ConfigureAwait(false);
                return 1;
            }

            var plane = await StartOrReportAsync(fleet, logging.Apply(result, new ControlPlaneOptions
            {
                LeaveRunning = result.GetValue(leave),
                Demo = result.GetValue(demo),
                Auth = result.GetValue(auth)!,
                AnnounceBootstrapKey = AnnounceKey,
            }), ct).ConfigureAwait(false);
            if (plane is null)
            {
                return 1;
            }

            await using var owned = plane;
            await plane.Adopted.WaitAsync(ct).ConfigureAwait(false);
            var instances = fleet.Services.Sum(s => s.Replicas);
            await Console.Error.WriteLineAsync($"autonomic: control plane up — API {fleet.Settings.Api}, store {PostgresUrl.Mask(fleet.Settings.Store)}, {fleet.Services.Count} services, {instances} instances. Ctrl-C stops it.").ConfigureAwait(false);
            if (result.GetValue(demo))
            {
                _ = PrintTourWhenReadyAsync(plane, ct);
            }

            try
            {
                await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            await Console.Error.WriteLineAsync(result.GetValue(leave) ? "autonomic: stopping the control plane; instances keep running" : "autonomic: stopping the fleet").ConfigureAwait(false);
            await plane.StopAsync(CancellationToken.None).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    /// <summary><c>autonomic agent NAME</c>: one agent in its own process, over the configured backends.</summary>
    public static Command CreateAgent()
    {
        var name = new Argument<string>("name") { Description = $"The agent to run: {string.Join(", ", AgentRoles.All)}" };
        name.AcceptOnlyFromAmong([.. AgentRoles.All]);
        var file = FileOption();
        var logging = LogOptions.Create();
        var auth = AuthOption();
        var metrics = new Option<string?>("--metrics")
        {
            Description = "Serve this agent's Prometheus /metrics on this URL, e.g. http://127.0.0.1:9464 (env AUTONOMIC_METRICS; the api agent serves them on its own port)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("AUTONOMIC_METRICS") is { Length: > 0 } env ? env : null,
        };
        metrics.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<string?>() is { } value && (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.Port <= 0))
            {
                r.AddError($"--metrics must be an http://HOST:PORT URL, not '{value}'");
            }
        });
        var command = new Command("agent", "Run one agent in this process; the agents meet over the bus, the store and the lease backend (use amqp://, postgres:// and redis://)")
        {
            name, file, logging.Format, logging.Quiet, auth, metrics,
        };
        command.SetAction(async (result, ct) =>
        {
            var fleet = LoadOrReport(result.GetValue(file), demo: false);
            if (fleet is null)
            {
                return 2;
            }

            var role = result.GetValue(name)!;
            if (role != AgentRoles.Api && fleet.Settings.Bus.StartsWith("memory:", StringComparison.OrdinalIgnoreCase))
            {
                await Console.Error.WriteLineAsync($"warning: the bus is {fleet.Settings.Bus}, which does not cross processes; set control_plane.bus or AUTONOMIC_BUS to an amqp:// URL so the agents can talk").ConfigureAwait(false);
            }

            var plane = await StartOrReportAsync(fleet, logging.Apply(result, new ControlPlaneOptions { Roles = new HashSet<string>([role], StringComparer.Ordinal), Auth = result.GetValue(auth)!, AnnounceBootstrapKey = AnnounceKey, MetricsUrl = result.GetValue(metrics) }), ct).ConfigureAwait(false);
            if (plane is null)
            {
                return 1;
            }

            await using var owned = plane;
            await Console.Error.WriteLineAsync($"autonomic: agent {role} up (pid {Environment.ProcessId}) — bus {PostgresUrl.Mask(fleet.Settings.Bus)}, store {PostgresUrl.Mask(fleet.Settings.Store)}, leases {PostgresUrl.Mask(fleet.Settings.Leases)}").ConfigureAwait(false);
            try
            {
                await Task.Delay(Timeout.Infinite, ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }

            await plane.StopAsync(CancellationToken.None).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    /// <summary>
    /// Builds and starts the control plane, or prints why it cannot start (an unknown backend, an unreachable
    /// store or broker, a taken port) as one line and returns null: a configuration problem is not a crash.
    /// </summary>
    private static async Task<ControlPlane?> StartOrReportAsync(FleetSpec fleet, ControlPlaneOptions options, CancellationToken ct)
    {
        ControlPlane? plane = null;
        try
        {
            plane = await ControlPlane.CreateAsync(fleet, options, ct).ConfigureAwait(false);
            await plane.StartAsync(ct).ConfigureAwait(false);
            return plane;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            var root = ex is AggregateException { InnerExceptions.Count: 1 } agg ? agg.InnerExceptions[0] : ex;
            await Console.Error.WriteLineAsync($"error: the control plane cannot start: {root.Message}").ConfigureAwait(false);
            if (plane is not null)
            {
                await plane.DisposeAsync().ConfigureAwait(false);
            }

            return null;
        }
    }

    public static Command CreateValidate()
    {
        var file = FileOption();
        var command = new Command("validate", "Check a fleet file and exit (2 on an error, with file, line and field)") { file };
        command.SetAction(result =>
        {
            var fleet = LoadOrReport(result.GetValue(file), demo: false);
            if (fleet is null)
            {
                return 2;
            }

            Console.WriteLine($"{fleet.SourcePath}: ok — {fleet.Services.Count} services, {fleet.Services.Sum(s => s.Replicas)} instances");
            foreach (var s in fleet.Services)
            {
                Console.WriteLine($"  {s.Name}: {s.Replicas} x {s.Command} {string.Join(' ', s.Args)}{(s.Port is { } p ? $" on port {p}" : "")}");
            }

            return 0;
        });
        return command;
    }

    /// <summary>The logging options of every command that runs agents: <c>--log-format text|json</c> and <c>-q</c>.</summary>
    private sealed record LogOptions(Option<string> Format, Option<bool> Quiet)
    {
        public static LogOptions Create()
        {
            var format = new Option<string>("--log-format") { Description = "console (text) or json (Elastic Common Schema, one object a line, for ELK)", DefaultValueFactory = _ => "console" };
            format.AcceptOnlyFromAmong("console", "text", "json");
            return new LogOptions(format, new Option<bool>("--quiet", "-q") { Description = "Log warnings and errors only" });
        }

        public ControlPlaneOptions Apply(ParseResult result, ControlPlaneOptions options) => options with
        {
            LogFormat = result.GetValue(Format) is "json" ? "json" : "text",
            MinimumLevel = result.GetValue(Quiet) ? LogLevel.Warning : LogLevel.Information,
        };
    }

    private static Option<string> AuthOption()
    {
        var auth = new Option<string>("--auth")
        {
            Description = "API authentication: keys (default) or none (anyone who reaches the API is an admin; local experiments only) (env AUTONOMIC_AUTH)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("AUTONOMIC_AUTH") is { Length: > 0 } env ? env : Gateway.AuthModes.Keys,
        };
        auth.AcceptOnlyFromAmong(Gateway.AuthModes.Keys, Gateway.AuthModes.None);
        return auth;
    }

    /// <summary>Shows a generated admin key on the console, once; it is never written to the log.</summary>
    private static void AnnounceKey(string key) => Console.Error.WriteLine($"""

        autonomic: no admin API key existed, so one was created. It is shown this once; keep it safe:

            {key}

        Use it with: export AUTONOMIC_API_KEY={key}
        (or save it in ~/.config/autonomic/key with mode 600), then create narrower keys: autonomic keys create --name ci --role operator

        """);

    private static Option<string?> FileOption() => new("--file", "-f") { Description = $"Fleet file (default: {DefaultFile} in the current directory)" };

    /// <summary>Loads the fleet, or prints the error (file:line:column: field: reason) and returns null.</summary>
    private static FleetSpec? LoadOrReport(string? path, bool demo)
    {
        var env = FleetFile.ProcessEnvironment();
        var beside = AppContext.BaseDirectory;
        try
        {
            if (path is null && demo && !File.Exists(DefaultFile))
            {
                return FleetFile.Parse(DemoFleet.Yaml, "demo.yaml (built in)", env, beside);
            }

            path ??= DefaultFile;
            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"error: fleet file '{path}' not found. Write one (see docs/fleet-file.md) or run 'autonomic up --demo'.");
                return null;
            }

            return FleetFile.Load(path, env, beside);
        }
        catch (FleetFileException ex)
        {
            Console.Error.WriteLine($"error: {ex.Message}");
            return null;
        }
    }

    private static async Task PrintTourWhenReadyAsync(ControlPlane plane, CancellationToken ct)
    {
        var registry = (Agents.Fleet.InstanceRegistry)plane.Services.GetService(typeof(Agents.Fleet.InstanceRegistry))!;
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(60);
        while (!ct.IsCancellationRequested && TimeProvider.System.GetUtcNow() < deadline)
        {
            var all = registry.Snapshot();
            if (all.Count > 0 && all.All(i => i.Record.State == InstanceState.Ready))
            {
                var web = plane.Fleet.Services.FirstOrDefault(s => s.Port is not null);
                var scaled = plane.Fleet.Services.FirstOrDefault(s => s.Scaling is not null && s.LoadBalancer is not null);
                await Console.Error.WriteLineAsync($"""

                    autonomic: the demo fleet is healthy ({all.Count} instances ready).
                    Dashboard: {plane.ApiUrl.TrimEnd('/')}/  (sign in with the admin key printed above, or your AUTONOMIC_API_KEY)
                    In another terminal, try:
                      bin/autonomic status                 # the fleet, live
                      bin/autonomic chaos kill web         # SIGKILL a replica; it is back in milliseconds
                      bin/autonomic chaos hang web/1       # SIGSTOP: alive but stuck; liveness catches it
                      bin/autonomic chaos leak web         # a memory leak; replaced before it hits its limit
                      bin/autonomic incidents              # what happened, time to detect and to mitigate
                      bin/autonomic actions                # every action, its rule and its evidence
                      bin/autonomic logs web               # the replicas' logs
                    {(web is null ? "" : $"  curl http://127.0.0.1:{web.Port}/             # the web service itself\n")}{(scaled is null ? "" : $"  bin/autonomic load constant --url http://127.0.0.1:{scaled.LoadBalancer!.Port}/work --rps 80 --duration 60s   # {scaled.Name} scales up\n  bin/autonomic status                 # {scaled.Name}'s replicas rise, then fall back after the load\n")}
                    """).ConfigureAwait(false);
                return;
            }

            await Task.Delay(200, ct).ConfigureAwait(false);
        }
    }
}
