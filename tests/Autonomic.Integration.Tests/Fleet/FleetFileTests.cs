using Autonomic.Backends.Fleet;
using Autonomic.Core.Specs;
using Xunit.Abstractions;

namespace Autonomic.Integration.Tests.Fleet;

/// <summary>Fleet file parsing: mapping of every field, positioned errors, overrides and command resolution.</summary>
public sealed class FleetFileTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fleet-tests-").FullName;

    private string _file => Path.Combine(_dir, "autonomic.yaml");

    private string _bin => Directory.CreateDirectory(Path.Combine(_dir, "bin")).FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private const string FullFile = """
        control_plane: {api: http://127.0.0.1:7500, store: sqlite:state/x.db, bus: memory://, log_dir: logs, log_max_bytes: 10Mi, log_files: 4, dry_run: true}
        services:
          web:
            command: autonomic-workload
            args: [--mode, web]
            env: {GREETING: hi, EMPTY: }
            working_dir: app
            port: 8081
            replicas: 2
            health:
              liveness:  {http: /healthz, period: 500ms, timeout: 400ms, failure_threshold: 3, success_threshold: 2, initial_delay: 1s}
              readiness: {http: /readyz, period: 1s}
              startup:   {tcp: true, period: 100ms, failure_threshold: 50, port: 9000}
            restart: {mode: on-failure, backoff_initial: 300ms, backoff_max: 1m, reset_after: 10s, budget: 7, budget_window: 2m, jitter: 0.3}
            limits: {memory: 256Mi, cpus: 0.5}
            trends: {leak_horizon: 90s, latency_limit: 250ms, window: 40, min_samples: 8}
            stop_grace: 3s
          db-check:
            command: /bin/true
            health:
              liveness: {exec: [pg_isready, -q], period: 2s}
            restart: {mode: never}
        """;

    [Fact]
    public void A_full_file_maps_every_field()
    {
        string workload = FakeExecutable(_bin, "autonomic-workload");
        FleetSpec fleet = FleetFile.Parse(FullFile, _file, Env(), extraSearchDirectory: _bin);

        Assert.Equal(Path.GetFullPath(_file), fleet.SourcePath);
        Assert.Equal(new ControlPlaneSettings
        {
            Api = "http://127.0.0.1:7500",
            Store = "sqlite:state/x.db",
            Bus = "memory://",
            LogDirectory = "logs",
            LogMaxBytes = 10 * 1024 * 1024,
            LogFiles = 4,
            DryRun = true,
        }, fleet.Settings);

        Assert.Equal(["web", "db-check"], fleet.Services.Select(s => s.Name));
        ServiceSpec web = fleet.Services[0];
        Assert.Equal(workload, web.Command);
        Assert.Equal(["--mode", "web"], web.Args);
        Assert.Equal(new Dictionary<string, string> { ["GREETING"] = "hi", ["EMPTY"] = "" }, web.Env);
        Assert.Equal(Path.Combine(_dir, "app"), web.WorkingDirectory);
        Assert.Equal(8081, web.Port);
        Assert.Equal(2, web.Replicas);
        Assert.Equal(new ProbeSpec
        {
            Kind = ProbeKind.Http,
            Path = "/healthz",
            Period = TimeSpan.FromMilliseconds(500),
            Timeout = TimeSpan.FromMilliseconds(400),
            FailureThreshold = 3,
            SuccessThreshold = 2,
            InitialDelay = TimeSpan.FromSeconds(1),
        }, web.Health.Liveness);
        Assert.Equal(new ProbeSpec { Kind = ProbeKind.Http, Path = "/readyz", Period = TimeSpan.FromSeconds(1) }, web.Health.Readiness);
        ProbeSpec startup = web.Health.Startup!;
        Assert.Equal(ProbeKind.Tcp, startup.Kind);
        Assert.Equal(9000, startup.Port);
        Assert.Equal(50, startup.FailureThreshold);
        Assert.Equal(TimeSpan.FromMilliseconds(100), startup.Period);
        Assert.Equal(TimeSpan.FromMilliseconds(100), startup.Timeout); // the default timeout never exceeds the period
        Assert.Equal(new RestartPolicy
        {
            Mode = RestartMode.OnFailure,
            BackoffInitial = TimeSpan.FromMilliseconds(300),
            BackoffMax = TimeSpan.FromMinutes(1),
            ResetAfter = TimeSpan.FromSeconds(10),
            Budget = 7,
            BudgetWindow = TimeSpan.FromMinutes(2),
            Jitter = 0.3,
        }, web.Restart);
        Assert.Equal(new ResourceLimits { MemoryBytes = 256L * 1024 * 1024, Cpus = 0.5 }, web.Limits);
        Assert.Equal(new TrendPolicy
        {
            LeakHorizon = TimeSpan.FromSeconds(90),
            LatencyLimit = TimeSpan.FromMilliseconds(250),
            Window = 40,
            MinSamples = 8,
        }, web.Trends);
        Assert.Equal(TimeSpan.FromSeconds(3), web.StopGracePeriod);

        ServiceSpec check = fleet.Services[1];
        Assert.Equal("/bin/true", check.Command);
        Assert.Null(check.Port);
        Assert.Equal(1, check.Replicas);
        Assert.Null(check.WorkingDirectory);
        Assert.Equal(ProbeKind.Exec, check.Health.Liveness!.Kind);
        Assert.Equal(["pg_isready", "-q"], check.Health.Liveness.Command);
        Assert.Null(check.Health.Readiness);
        Assert.Equal(RestartMode.Never, check.Restart.Mode);
        Assert.Equal(new ResourceLimits(), check.Limits);
    }

    [Fact]
    public void Services_may_be_a_list_with_names()
    {
        FleetSpec fleet = FleetFile.Parse("""
            services:
              - name: a
                command: x
                port: 9000
              - name: b
                command: y
            """, _file, Env());
        Assert.Equal(["a", "b"], fleet.Services.Select(s => s.Name));
        Assert.Equal(new ControlPlaneSettings(), fleet.Settings);
    }

    public static TheoryData<string, string, string, string> Errors => new()
    {
        // yaml, text where the error points, field, reason fragment
        { Service("health:\n  liveness: {http: /healthz, period: fast}"), "fast", "services.web.health.liveness.period", "expected a duration like 500ms, 2s or 1m, got \"fast\"" },
        { Service("replcas: 2"), "replcas", "services.web.replcas", "unknown key \"replcas\"; did you mean \"replicas\"?" },
        { Service("healthcheck: {}"), "healthcheck", "services.web.healthcheck", "expected one of: name, command" },
        { "services:\n  web:\n    port: 1\n", "web", "services.web.command", "every service needs a command" },
        { Service("replicas: 101"), "101", "services.web.replicas", "expected an integer from 0 to 100, got 101" },
        { Service("replicas: -1"), "-1", "services.web.replicas", "from 0 to 100" },
        { Service("port: 70000"), "70000", "services.web.port", "from 1 to 65535" },
        { Service("port: 0"), "0", "services.web.port", "from 1 to 65535" },
        { Service("health:\n  readiness: {http: /r, failure_threshold: 0}"), "0}", "services.web.health.readiness.failure_threshold", "from 1 to" },
        { Service("health:\n  readiness: {http: /r, success_threshold: 0}"), "0}", "services.web.health.readiness.success_threshold", "from 1 to" },
        { Service("health:\n  liveness: {http: /r, period: 0s}"), "0s", "services.web.health.liveness.period", "greater than 0" },
        { Service("health:\n  liveness: {http: /r, period: 1s, timeout: 2s}"), "2s", "services.web.health.liveness.timeout", "timeout (2s) must not exceed period (1s)" },
        { Service("health:\n  liveness: {http: healthz}"), "healthz", "services.web.health.liveness.http", "starting with /" },
        { Service("health:\n  liveness: {kind: grpc}"), "grpc", "services.web.health.liveness.kind", "unknown probe kind \"grpc\"" },
        { Service("health:\n  liveness: {kind: exec}"), "exec", "services.web.health.liveness.command", "an exec probe needs a command" },
        { Service("health:\n  liveness: {exec: []}"), "[]", "services.web.health.liveness.exec", "an exec probe needs a command" },
        { Service("health:\n  liveness: {http: /h, tcp: true}"), "tcp", "services.web.health.liveness.tcp", "already http" },
        { Service("health:\n  liveness: {tcp: false}"), "false", "services.web.health.liveness.tcp", "tcp: true" },
        { Service("health:\n  liveness: {http: /h, port: 99999}"), "99999", "services.web.health.liveness.port", "from 1 to 65535" },
        { Service("health:\n  livness: {http: /h}"), "livness", "services.web.health.livness", "did you mean \"liveness\"?" },
        { Service("restart: {mode: sometimes}"), "sometimes", "services.web.restart.mode", "unknown restart mode \"sometimes\"" },
        { Service("restart: {mode: on_failure}"), "on_failure", "services.web.restart.mode", "did you mean \"on-failure\"?" },
        { Service("restart: {backoff_initial: 10s, backoff_max: 1s}"), "10s", "services.web.restart.backoff_initial", "must not exceed backoff_max (1s)" },
        { Service("restart: {budget: 0}"), "0}", "services.web.restart.budget", "from 1 to" },
        { Service("restart: {jitter: 2}"), "2}", "services.web.restart.jitter", "from 0 to 1" },
        { Service("limits: {memory: lots}"), "lots", "services.web.limits.memory", "expected a size like 256Mi, 1Gi, 512M or a number of bytes, got \"lots\"" },
        { Service("trends: {window: 5, min_samples: 6}"), "6}", "services.web.trends.min_samples", "must not exceed window (5)" },
        { Service("args: --mode web"), "--mode", "services.web.args", "expected a list" },
        { Service("env: {1BAD: x}"), "1BAD", "services.web.env.1BAD", "environment variable name" },
        { Service("stop_grace: soon"), "soon", "services.web.stop_grace", "expected a duration" },
        { "services:\n  Web_1:\n    command: x\n", "Web_1", "services.Web_1", "must be a DNS label" },
        { "services:\n  - name: a\n    command: x\n  - name: a\n    command: y\n", "a\n    command: y", "services[1].name", "duplicate service name \"a\" (first defined at line 2)" },
        { "services:\n  a: {command: x, port: 8000, replicas: 3}\n  b: {command: x, port: 8002}\n", "8002", "services.b.port", "ports 8002 overlap a's ports 8000-8002" },
        { "services:\n  a: {command: x, port: 7411}\n", "7411", "services.a.port", "control plane API port 7411" },
        { "services:\n  a: {command: x, port: 65535, replicas: 2}\n", "65535", "services.a.port", "go past 65535" },
        { "control_plane: {api: ftp://x}\nservices: {}\n", "ftp://x", "control_plane.api", "expected an http URL" },
        { "control_plane: {dry_run: maybe}\nservices: {}\n", "maybe", "control_plane.dry_run", "expected true or false" },
        { "control_plane: {log_max_bytes: 0}\nservices: {}\n", "0}", "control_plane.log_max_bytes", "greater than 0" },
        { "controlplane: {}\nservices: {}\n", "controlplane", "controlplane", "did you mean \"control_plane\"?" },
        { "services: [1, 2]\n", "1, 2", "services[0]", "expected a mapping" },
        { "control_plane: {}\n", "control_plane", "services", "missing" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Errors_name_line_column_and_field(string yaml, string at, string field, string reason)
    {
        FleetFileException ex = Assert.Throws<FleetFileException>(() => FleetFile.Parse(yaml, "autonomic.yaml", Env()));
        output.WriteLine(ex.Message);
        (int line, int column) = PositionOf(yaml, at);
        Assert.Equal(field, ex.Field);
        Assert.Contains(reason, ex.Reason, StringComparison.Ordinal);
        Assert.Equal((line, column), (ex.Line, ex.Column));
        Assert.Equal($"autonomic.yaml:{line}:{column}: {field}: {ex.Reason}", ex.Message);
        Assert.Equal("autonomic.yaml", ex.File);
    }

    [Fact]
    public void The_broken_example_reports_the_documented_message()
    {
        string broken = Path.Combine(RepositoryRoot(), "examples", "broken.yaml");
        FleetFileException ex = Assert.Throws<FleetFileException>(() => FleetFile.Load(broken, Env()));
        Assert.EndsWith("broken.yaml:12:17: services.web.health.liveness.period: expected a duration like 500ms, 2s or 1m, got \"fast\"", ex.Message, StringComparison.Ordinal);
        Assert.Contains(ex.Message[(ex.Message.LastIndexOf('/') + 1)..], File.ReadAllText(broken), StringComparison.Ordinal);
    }

    [Fact]
    public void The_demo_example_loads()
    {
        FleetSpec fleet = FleetFile.Load(Path.Combine(RepositoryRoot(), "examples", "demo.yaml"), Env());
        ServiceSpec web = Assert.Single(fleet.Services, s => s.Name == "web");
        Assert.Equal(2, web.Replicas);
        Assert.Equal(8081, web.Port);
        Assert.Equal("/healthz", web.Health.Liveness!.Path);
        Assert.Equal(TimeSpan.FromMilliseconds(500), web.Health.Liveness.Period);
        Assert.Equal(3, web.Health.Liveness.FailureThreshold);
        Assert.Equal("/readyz", web.Health.Readiness!.Path);
        Assert.Equal(256L * 1024 * 1024, web.Limits.MemoryBytes);
        Assert.Equal(TimeSpan.FromSeconds(60), web.Trends.LeakHorizon);
        ServiceSpec worker = Assert.Single(fleet.Services, s => s.Name == "worker");
        Assert.Equal(["--mode", "worker"], worker.Args);
        Assert.Equal(8091, worker.Port);
        Assert.Equal(1, worker.Replicas);
        Assert.Equal(ProbeKind.Http, worker.Health.Liveness!.Kind);
    }

    [Fact]
    public void Environment_overrides_settings_and_service_ports_and_replicas()
    {
        FleetSpec fleet = FleetFile.Parse(FullFile, _file, Env(
            ("AUTONOMIC_API", "http://127.0.0.1:9999"),
            ("AUTONOMIC_STORE", "sqlite:/tmp/other.db"),
            ("AUTONOMIC_BUS", "memory://x"),
            ("AUTONOMIC_LOG_DIR", "/tmp/logs"),
            ("AUTONOMIC_DRY_RUN", "0"),
            ("AUTONOMIC_SERVICES__WEB__REPLICAS", "5"),
            ("AUTONOMIC_SERVICES__DB_CHECK__PORT", "6000"),
            ("UNRELATED", "1")));

        Assert.Equal(new ControlPlaneSettings
        {
            Api = "http://127.0.0.1:9999",
            Store = "sqlite:/tmp/other.db",
            Bus = "memory://x",
            LogDirectory = "/tmp/logs",
            LogMaxBytes = 10 * 1024 * 1024,
            LogFiles = 4,
            DryRun = false,
        }, fleet.Settings);
        Assert.Equal(5, fleet.Services[0].Replicas);
        Assert.Equal(6000, fleet.Services[1].Port);
    }

    [Theory]
    [InlineData("AUTONOMIC_SERVICES__WEB__REPLICAS", "lots", "services.web.replicas", "AUTONOMIC_SERVICES__WEB__REPLICAS: expected an integer from 0 to 100, got \"lots\"")]
    [InlineData("AUTONOMIC_SERVICES__WEB__PORT", "8080", "services.web.port", "AUTONOMIC_SERVICES__WEB__PORT: ports 8080-8081 overlap db-check's ports 8080")]
    [InlineData("AUTONOMIC_SERVICES__WBE__PORT", "1", "services", "AUTONOMIC_SERVICES__WBE__PORT: unknown service \"WBE\"; did you mean \"WEB\"?")]
    [InlineData("AUTONOMIC_SERVICES__WEB__REPLICA", "1", "services.web", "did you mean \"REPLICAS\"?")]
    [InlineData("AUTONOMIC_SERVICES__WEB__LB_PORT", "8100", "services.web.load_balancer", "AUTONOMIC_SERVICES__WEB__LB_PORT: the service has no load balancer to move")]
    [InlineData("AUTONOMIC_DRY_RUN", "perhaps", "control_plane.dry_run", "AUTONOMIC_DRY_RUN: expected true or false")]
    [InlineData("AUTONOMIC_API", "localhost", "control_plane.api", "AUTONOMIC_API: expected an http URL")]
    public void A_bad_override_names_the_variable(string variable, string value, string field, string reason)
    {
        string yaml = "services:\n  web: {command: x, port: 9000, replicas: 2}\n  db-check: {command: y, port: 8080}\n";
        FleetFileException ex = Assert.Throws<FleetFileException>(() => FleetFile.Parse(yaml, "f.yaml", Env((variable, value))));
        Assert.Equal(field, ex.Field);
        Assert.Contains(reason, ex.Reason, StringComparison.Ordinal);
        Assert.Equal(0, ex.Line);
        Assert.StartsWith($"f.yaml: {field}: {variable}", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("# only a comment\n\n")]
    public void An_empty_file_is_an_error_at_line_1(string yaml)
    {
        FleetFileException ex = Assert.Throws<FleetFileException>(() => FleetFile.Parse(yaml, "autonomic.yaml", Env()));
        output.WriteLine(ex.Message);
        Assert.Equal(1, ex.Line);
        Assert.Contains("empty", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("services:\n  web:\n    command: x\n    args: [a, b\n    port: 1\n", 4)]
    [InlineData("services:\n  web:\n    command: x\n   port: 1\n", 4)]
    [InlineData("services:\n  web: {command: \"x}\n", 2)]
    public void A_yaml_syntax_error_reports_its_line(string yaml, int line)
    {
        FleetFileException ex = Assert.Throws<FleetFileException>(() => FleetFile.Parse(yaml, "autonomic.yaml", Env()));
        output.WriteLine(ex.Message);
        Assert.InRange(ex.Line, line, line + 1);
        Assert.StartsWith($"autonomic.yaml:{ex.Line}:{ex.Column}: ", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("(Line", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_duplicate_key_is_an_error_at_the_second_one()
    {
        string yaml = "services:\n  web: {command: x}\n  web: {command: y}\n";
        FleetFileException ex = Assert.Throws<FleetFileException>(() => FleetFile.Parse(yaml, "autonomic.yaml", Env()));
        output.WriteLine(ex.Message);
        Assert.Equal(3, ex.Line);
    }

    [Fact]
    public void A_missing_file_is_a_fleet_file_error()
    {
        string missing = Path.Combine(_dir, "nope.yaml");
        FleetFileException ex = Assert.Throws<FleetFileException>(() => FleetFile.Load(missing, Env()));
        Assert.Equal(missing, ex.File);
        Assert.Contains("cannot read", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Commands_resolve_through_the_extra_directory_then_path_and_otherwise_stay_as_given()
    {
        string pathDir = Directory.CreateDirectory(Path.Combine(_dir, "pathbin")).FullName;
        string onPath = FakeExecutable(pathDir, "tool");
        string shadowed = FakeExecutable(pathDir, "autonomic-workload");
        string beside = FakeExecutable(_bin, "autonomic-workload");
        File.WriteAllText(Path.Combine(pathDir, "not-executable"), "");
        Directory.CreateDirectory(Path.Combine(_dir, "scripts"));

        string yaml = """
            services:
              a: {command: autonomic-workload}
              b: {command: tool}
              c: {command: no-such-command-anywhere}
              d: {command: not-executable}
              e: {command: ./scripts/run.sh, working_dir: scripts}
              f: {command: /usr/bin/env}
            """;
        FleetSpec fleet = FleetFile.Parse(yaml, _file, Env(("PATH", "/nonexistent:" + pathDir)), extraSearchDirectory: _bin);

        Assert.Equal(beside, fleet.Services[0].Command);
        Assert.NotEqual(shadowed, fleet.Services[0].Command);
        Assert.Equal(onPath, fleet.Services[1].Command);
        Assert.Equal("no-such-command-anywhere", fleet.Services[2].Command);
        Assert.Equal("not-executable", fleet.Services[3].Command);
        Assert.Equal(Path.Combine(_dir, "scripts", "run.sh"), fleet.Services[4].Command);
        Assert.Equal(Path.Combine(_dir, "scripts"), fleet.Services[4].WorkingDirectory);
        Assert.Equal("/usr/bin/env", fleet.Services[5].Command);
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("2s", 2000)]
    [InlineData("1m", 60_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1.5", 1500)]
    [InlineData("0", 0)]
    [InlineData("0.25s", 250)]
    public void Durations_parse(string text, double ms)
    {
        Assert.True(FleetUnits.TryParseDuration(text, out TimeSpan value));
        Assert.Equal(TimeSpan.FromMilliseconds(ms), value);
    }

    [Theory]
    [InlineData("fast")]
    [InlineData("-1s")]
    [InlineData("")]
    [InlineData("1d")]
    [InlineData("ms")]
    public void Bad_durations_do_not_parse(string text) => Assert.False(FleetUnits.TryParseDuration(text, out _));

    [Theory]
    [InlineData("256Mi", 256L * 1024 * 1024)]
    [InlineData("1Gi", 1024L * 1024 * 1024)]
    [InlineData("512M", 512_000_000L)]
    [InlineData("4096", 4096L)]
    [InlineData("10KiB", 10_240L)]
    [InlineData("1.5Ki", 1536L)]
    public void Sizes_parse(string text, long bytes)
    {
        Assert.True(FleetUnits.TryParseSize(text, out long value));
        Assert.Equal(bytes, value);
    }

    [Theory]
    [InlineData("lots")]
    [InlineData("-5")]
    [InlineData("5Xi")]
    [InlineData("Mi")]
    public void Bad_sizes_do_not_parse(string text) => Assert.False(FleetUnits.TryParseSize(text, out _));

    private static string Service(string extra) =>
        "services:\n  web:\n    command: x\n" + string.Join("", extra.Split('\n').Select(l => "    " + l + "\n"));

    private static (int Line, int Column) PositionOf(string yaml, string text)
    {
        int index = yaml.IndexOf(text, StringComparison.Ordinal);
        Assert.True(index >= 0, $"'{text}' not in the yaml");
        int line = yaml[..index].Count(c => c == '\n') + 1;
        int column = index - (yaml.LastIndexOf('\n', Math.Max(0, index - 1)) + 1) + 1;
        if (index == 0)
        {
            column = 1;
        }

        return (line, column);
    }

    private static Dictionary<string, string?> Env(params (string Key, string Value)[] pairs) =>
        pairs.ToDictionary(p => p.Key, p => (string?)p.Value);

    private static string FakeExecutable(string dir, string name)
    {
        string path = Path.Combine(dir, name);
        File.WriteAllText(path, "#!/bin/sh\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return path;
    }

    private static string RepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "examples", "demo.yaml")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("examples/demo.yaml not found above " + AppContext.BaseDirectory);
    }
}
