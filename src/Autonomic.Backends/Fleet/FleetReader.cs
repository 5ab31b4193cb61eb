using Autonomic.Core.Specs;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace Autonomic.Backends.Fleet;

/// <summary>Walks the YAML node tree of one fleet file, validating as it goes so every error has a position.</summary>
internal sealed partial class FleetReader(string file, IReadOnlyDictionary<string, string?> environment, string? extraSearchDirectory)
{
    private static readonly string[] RootKeys = ["control_plane", "services"];
    private static readonly string[] ControlPlaneKeys = ["api", "store", "bus", "leases", "log_dir", "log_max_bytes", "log_files", "dry_run", "cost", "objects", "security"];
    private static readonly string[] ServiceKeys =
        ["name", "command", "args", "env", "working_dir", "port", "replicas", "socket_activation", "health", "restart", "limits", "trends", "stop_grace", "scaling", "load_balancer", "lb"];
    private static readonly string[] HealthKeys = ["liveness", "readiness", "startup"];
    private static readonly string[] ProbeKeys =
        ["http", "tcp", "exec", "kind", "path", "command", "port", "period", "timeout", "failure_threshold", "success_threshold", "initial_delay"];
    private static readonly string[] RestartKeys = ["mode", "backoff_initial", "backoff_max", "reset_after", "budget", "budget_window", "jitter", "rate_burst", "rate_per_minute"];
    private static readonly string[] LimitKeys = ["memory", "cpus"];
    private static readonly string[] TrendKeys = ["leak_horizon", "latency_limit", "window", "min_samples"];
    private static readonly string[] LoadBalancerKeys = ["port", "algorithm", "health_path", "health_interval", "passive_failures", "drain_timeout"];
    private static readonly string[] Algorithms = ["power-of-two", "least-requests", "round-robin"];
    private static readonly string[] ProbeKinds = ["http", "tcp", "exec"];
    private static readonly string[] RestartModes = ["always", "on-failure", "never"];
    private const string ServiceVariablePrefix = "AUTONOMIC_SERVICES__";

    private readonly string _baseDirectory = Path.GetDirectoryName(Path.GetFullPath(file)) ?? Directory.GetCurrentDirectory();

    /// <summary>Where a service's port and replica count came from, for errors found after overrides.</summary>
    private sealed class Entry
    {
        public required ServiceSpec Spec { get; set; }
        public required string Key { get; init; }
        public required string Field { get; init; }
        public Mark PortMark { get; set; }
        public Mark ReplicasMark { get; set; }
        public string? PortVariable { get; set; }
        public string? ReplicasVariable { get; set; }
    }

    public FleetSpec Read(string yaml)
    {
        YamlNode root = LoadRoot(yaml);
        Section top = Section.Of(this, root, "", RootKeys);
        ControlPlaneSettings settings = top.Child("control_plane", ControlPlaneKeys) is { } cp ? ReadControlPlane(cp) : new();
        List<Entry> services = ReadServices(top);
        settings = ApplyOverrides(settings, services);
        CheckPorts(settings, services);
        return new FleetSpec
        {
            Settings = settings,
            Services = services.Select(e => e.Spec).ToList(),
            SourcePath = Path.GetFullPath(file),
        };
    }

    internal FleetFileException Fail(YamlNode node, string field, string reason) => Fail(node.Start, field, reason);

    internal FleetFileException Fail(Mark mark, string field, string reason) =>
        new(file, (int)mark.Line, (int)mark.Column, field, reason);

    private YamlNode LoadRoot(string yaml)
    {
        var stream = new YamlStream();
        var parser = new TrackingParser(new Parser(new StringReader(yaml)));
        try
        {
            stream.Load(parser);
        }
        catch (YamlException ex)
        {
            throw new FleetFileException(file, (int)ex.Start.Line, (int)ex.Start.Column, "", CleanYamlMessage(ex.Message), ex);
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException or IndexOutOfRangeException)
        {
            // YamlDotNet's scanner throws these for some malformed input (an unclosed [ for one); the end of the
            // last event parsed is the best position there is.
            throw new FleetFileException(file, (int)parser.LastEnd.Line, (int)parser.LastEnd.Column, "", "invalid YAML after this point (an unclosed [ or { perhaps?)", ex);
        }

        if (stream.Documents.Count == 0)
        {
            throw new FleetFileException(file, 1, 1, "", "the file is empty; expected a mapping with a services key");
        }

        if (stream.Documents.Count > 1)
        {
            throw Fail(stream.Documents[1].RootNode, "", $"expected one YAML document, found {stream.Documents.Count}");
        }

        return stream.Documents[0].RootNode;
    }

    /// <summary>Remembers where the last successfully parsed event ended, for errors that carry no position.</summary>
    private sealed class TrackingParser(IParser inner) : IParser
    {
        public Mark LastEnd { get; private set; } = new(0, 1, 1);

        public ParsingEvent? Current => inner.Current;

        public bool MoveNext()
        {
            bool moved = inner.MoveNext();
            if (inner.Current is { } current)
            {
                LastEnd = current.End;
            }

            return moved;
        }
    }

    /// <summary>YamlDotNet prefixes its messages with the span, which our own prefix already gives.</summary>
    private static string CleanYamlMessage(string message)
    {
        int cut = message.IndexOf("): ", StringComparison.Ordinal);
        string text = message.StartsWith("(Line", StringComparison.Ordinal) && cut > 0 ? message[(cut + 3)..] : message;
        return "invalid YAML: " + text;
    }

    private ControlPlaneSettings ReadControlPlane(Section s)
    {
        var d = new ControlPlaneSettings();
        return new ControlPlaneSettings
        {
            Api = s.Text("api", FleetValues.HttpUrl) ?? d.Api,
            Store = s.Text("store", t => FleetValues.NonEmpty(t, "a store URL like sqlite:.autonomic/state.db")) ?? d.Store,
            Bus = s.Text("bus", t => FleetValues.NonEmpty(t, "a bus URL like memory://")) ?? d.Bus,
            Leases = s.Text("leases", t => FleetValues.NonEmpty(t, "a lease backend URL like inprocess:// or redis://host:6379/0")) ?? d.Leases,
            LogDirectory = s.Text("log_dir", t => FleetValues.NonEmpty(t, "a directory")) ?? d.LogDirectory,
            LogMaxBytes = s.Size("log_max_bytes") ?? d.LogMaxBytes,
            LogFiles = s.Int("log_files", 1, 1000) ?? d.LogFiles,
            DryRun = s.Bool("dry_run") ?? d.DryRun,
            Cost = s.Child("cost", CostKeys) is { } cost ? ReadCost(cost) : d.Cost,
            Objects = s.Child("objects", ObjectsKeys) is { } objects ? ReadObjects(objects) : d.Objects,
            Security = s.Child("security", SecurityKeys) is { } security ? ReadSecurity(security) : d.Security,
        };
    }

    private List<Entry> ReadServices(Section top)
    {
        if (!top.TryGet("services", out YamlNode? node, out _))
        {
            throw Fail(top.Node, "services", "missing; a fleet file lists its services under services:");
        }

        var entries = new List<Entry>();
        var seen = new Dictionary<string, Mark>(StringComparer.Ordinal);
        switch (node)
        {
            case YamlMappingNode map:
                foreach (KeyValuePair<YamlNode, YamlNode> pair in map.Children)
                {
                    string name = pair.Key is YamlScalarNode { Value: { } v } ? v : throw Fail(pair.Key, "services", "service names must be plain text");
                    CheckName(pair.Key, "services." + name, name, seen);
                    Section s = Section.Of(this, pair.Value, "services." + name, ServiceKeys);
                    if (s.TryGet("name", out YamlNode? named, out _))
                    {
                        throw Fail(named, s.Field("name"), "the service's name is its key under services; remove name:");
                    }

                    entries.Add(ReadService(s, name, pair.Key));
                }

                break;
            case YamlSequenceNode list:
                for (int i = 0; i < list.Children.Count; i++)
                {
                    Section s = Section.Of(this, list.Children[i], $"services[{i}]", ServiceKeys);
                    string name = s.Text("name", t => FleetValues.NonEmpty(t, "a service name"))
                        ?? throw Fail(s.Node, s.Field("name"), "missing; each service in a list needs a name");
                    s.TryGet("name", out YamlNode? nameNode, out _);
                    CheckName(nameNode!, s.Field("name"), name, seen);
                    entries.Add(ReadService(s, name, nameNode!));
                }

                break;
            case YamlScalarNode scalar when Section.IsNull(scalar):
                break;
            default:
                throw Fail(node, "services", $"expected a mapping of service name to service, got {Section.Describe(node)}");
        }

        return entries;
    }

    private void CheckName(YamlNode node, string field, string name, Dictionary<string, Mark> seen)
    {
        if (!FleetFile.DnsLabel().IsMatch(name))
        {
            throw Fail(node, field, $"service name {FleetValues.Quote(name)} must be a DNS label: lowercase letters, digits and '-', starting with a letter, not ending with '-', at most 63 characters");
        }

        if (seen.TryGetValue(name, out Mark first))
        {
            throw Fail(node, field, $"duplicate service name {FleetValues.Quote(name)} (first defined at line {first.Line})");
        }

        seen[name] = node.Start;
    }

    private Entry ReadService(Section s, string name, YamlNode nameNode)
    {
        string command = s.Text("command", t => FleetValues.NonEmpty(t, "a command"))
            ?? throw Fail(nameNode, s.Field("command"), "missing; every service needs a command");
        string? workingDir = s.Text("working_dir", t => FleetValues.NonEmpty(t, "a directory"));
        var d = new ServiceSpec { Name = name, Command = command };
        YamlNode portNode = s.TryGet("port", out YamlNode? pn, out _) ? pn : nameNode;
        YamlNode replicasNode = s.TryGet("replicas", out YamlNode? rn, out _) ? rn : nameNode;
        var spec = new ServiceSpec
        {
            Name = name,
            Command = ResolveCommand(command),
            Args = s.StringList("args") ?? d.Args,
            Env = s.StringMap("env") ?? d.Env,
            WorkingDirectory = workingDir is null ? null : Path.GetFullPath(Path.Combine(_baseDirectory, workingDir)),
            Port = s.Int("port", 1, 65535),
            Replicas = s.Int("replicas", 0, 100) ?? d.Replicas,
            SocketActivation = s.Bool("socket_activation") ?? d.SocketActivation,
            Health = s.Child("health", HealthKeys) is { } h ? ReadHealth(h) : d.Health,
            Restart = s.Child("restart", RestartKeys) is { } r ? ReadRestart(r) : d.Restart,
            Limits = s.Child("limits", LimitKeys) is { } l ? ReadLimits(l) : d.Limits,
            Trends = s.Child("trends", TrendKeys) is { } t ? ReadTrends(t) : d.Trends,
            StopGracePeriod = s.Duration("stop_grace", allowZero: true) ?? d.StopGracePeriod,
            LoadBalancer = ReadLoadBalancer(s),
        };
        spec = spec with { Scaling = s.Child("scaling", ScalingKeys) is { } sc ? ReadScaling(sc, spec.Limits) : null };
        return new Entry { Spec = spec, Key = name, Field = s.Path, PortMark = portNode.Start, ReplicasMark = replicasNode.Start };
    }

    private HealthChecks ReadHealth(Section s) => new()
    {
        Liveness = s.Child("liveness", ProbeKeys) is { } l ? ReadProbe(l) : null,
        Readiness = s.Child("readiness", ProbeKeys) is { } r ? ReadProbe(r) : null,
        Startup = s.Child("startup", ProbeKeys) is { } st ? ReadProbe(st) : null,
    };

    private ProbeSpec ReadProbe(Section s)
    {
        var d = new ProbeSpec();
        ProbeKind? kind = null;
        YamlNode? kindNode = null;
        void SetKind(ProbeKind k, YamlNode? node, string key)
        {
            if (kind is { } existing && existing != k)
            {
                throw Fail(node!, s.Field(key), $"a probe is one of http, tcp or exec; this one is already {existing.ToString().ToLowerInvariant()} (line {kindNode!.Start.Line})");
            }

            kind = k;
            kindNode = node;
        }

        string? path = null;
        IReadOnlyList<string>? command = null;
        if (s.TryGet("kind", out YamlNode? kn, out YamlNode? kk))
        {
            string text = s.Text("kind", null)!;
            int index = Array.IndexOf(ProbeKinds, text);
            if (index < 0)
            {
                throw Fail(kn, s.Field("kind"), FleetValues.Unknown("probe kind", text, ProbeKinds));
            }

            SetKind((ProbeKind)index, kk, "kind");
        }

        if (s.TryGet("http", out _, out YamlNode? hk))
        {
            SetKind(ProbeKind.Http, hk, "http");
            path = s.Text("http", HttpPath);
        }

        if (s.TryGet("tcp", out YamlNode? tn, out YamlNode? tk))
        {
            SetKind(ProbeKind.Tcp, tk, "tcp");
            if (s.Bool("tcp") != true)
            {
                throw Fail(tn, s.Field("tcp"), "write tcp: true for a TCP probe, or leave it out");
            }
        }

        if (s.TryGet("exec", out YamlNode? en, out YamlNode? ek))
        {
            SetKind(ProbeKind.Exec, ek, "exec");
            command = s.StringList("exec");
        }

        if (s.TryGet("path", out YamlNode? pathNode, out _))
        {
            if (kind is not (null or ProbeKind.Http) || path is not null)
            {
                throw Fail(pathNode, s.Field("path"), path is not null ? "the path is already given by http:" : "path applies to http probes only");
            }

            kind = ProbeKind.Http;
            path = s.Text("path", HttpPath);
        }

        if (s.TryGet("command", out YamlNode? commandNode, out _))
        {
            if (kind is not (null or ProbeKind.Exec) || command is not null)
            {
                throw Fail(commandNode, s.Field("command"), command is not null ? "the command is already given by exec:" : "command applies to exec probes only");
            }

            kind = ProbeKind.Exec;
            command = s.StringList("command");
        }

        if (kind == ProbeKind.Exec && (command is null || command.Count == 0))
        {
            throw Fail(en ?? commandNode ?? kn ?? s.Node, s.Field(en is not null ? "exec" : "command"), "an exec probe needs a command, e.g. exec: [pg_isready, -q]");
        }

        TimeSpan period = s.Duration("period", allowZero: false) ?? d.Period;
        TimeSpan timeout = s.Duration("timeout", allowZero: false) ?? (d.Timeout < period ? d.Timeout : period);
        if (timeout > period)
        {
            s.TryGet("timeout", out YamlNode? timeoutNode, out _);
            throw Fail(timeoutNode ?? s.Node, s.Field("timeout"), $"timeout ({Show(timeout)}) must not exceed period ({Show(period)})");
        }

        return new ProbeSpec
        {
            Kind = kind ?? ProbeKind.Http,
            Path = path ?? d.Path,
            Port = s.Int("port", 1, 65535),
            Command = command ?? [],
            Period = period,
            Timeout = timeout,
            FailureThreshold = s.Int("failure_threshold", 1, 1000) ?? d.FailureThreshold,
            SuccessThreshold = s.Int("success_threshold", 1, 1000) ?? d.SuccessThreshold,
            InitialDelay = s.Duration("initial_delay", allowZero: true) ?? d.InitialDelay,
        };
    }

    private static string? HttpPath(string text) =>
        text.StartsWith('/') ? null : $"expected a request path starting with /, got {FleetValues.Quote(text)}";

    private RestartPolicy ReadRestart(Section s)
    {
        var d = new RestartPolicy();
        RestartMode mode = d.Mode;
        if (s.TryGet("mode", out YamlNode? modeNode, out _))
        {
            string text = s.Text("mode", null)!;
            int index = Array.IndexOf(RestartModes, text);
            mode = index >= 0 ? (RestartMode)index : throw Fail(modeNode, s.Field("mode"), FleetValues.Unknown("restart mode", text, RestartModes));
        }

        var policy = new RestartPolicy
        {
            Mode = mode,
            BackoffInitial = s.Duration("backoff_initial", allowZero: true) ?? d.BackoffInitial,
            BackoffMax = s.Duration("backoff_max", allowZero: true) ?? d.BackoffMax,
            ResetAfter = s.Duration("reset_after", allowZero: true) ?? d.ResetAfter,
            Budget = s.Int("budget", 1, 1_000_000) ?? d.Budget,
            BudgetWindow = s.Duration("budget_window", allowZero: false) ?? d.BudgetWindow,
            Jitter = s.Double("jitter", 0, 1) ?? d.Jitter,
            RateBurst = s.Int("rate_burst", 1, 1_000_000) ?? d.RateBurst,
            RatePerMinute = s.Double("rate_per_minute", 0.001, 1_000_000) ?? d.RatePerMinute,
        };
        if (policy.BackoffInitial > policy.BackoffMax)
        {
            YamlNode node = s.TryGet("backoff_initial", out YamlNode? n, out _) ? n : s.TryGet("backoff_max", out YamlNode? m, out _) ? m : s.Node;
            throw Fail(node, s.Field("backoff_initial"), $"backoff_initial ({Show(policy.BackoffInitial)}) must not exceed backoff_max ({Show(policy.BackoffMax)})");
        }

        return policy;
    }

    private ResourceLimits ReadLimits(Section s) => new()
    {
        MemoryBytes = s.Size("memory"),
        Cpus = s.Double("cpus", 0.001, 1024),
    };

    private TrendPolicy ReadTrends(Section s)
    {
        var d = new TrendPolicy();
        var trends = new TrendPolicy
        {
            LeakHorizon = s.Duration("leak_horizon", allowZero: false) ?? d.LeakHorizon,
            LatencyLimit = s.Duration("latency_limit", allowZero: false),
            Window = s.Int("window", 2, 100_000) ?? d.Window,
            MinSamples = s.Int("min_samples", 2, 100_000) ?? d.MinSamples,
        };
        if (trends.MinSamples > trends.Window)
        {
            YamlNode node = s.TryGet("min_samples", out YamlNode? n, out _) ? n : s.TryGet("window", out YamlNode? w, out _) ? w : s.Node;
            throw Fail(node, s.Field("min_samples"), $"min_samples ({trends.MinSamples}) must not exceed window ({trends.Window})");
        }

        return trends;
    }

    private string ResolveCommand(string command)
    {
        if (command.Contains('/', StringComparison.Ordinal))
        {
            return Path.IsPathRooted(command) ? command : Path.GetFullPath(Path.Combine(_baseDirectory, command));
        }

        IEnumerable<string> directories = environment.TryGetValue("PATH", out string? path) && path is not null
            ? path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            : [];
        if (!string.IsNullOrEmpty(extraSearchDirectory))
        {
            directories = directories.Prepend(extraSearchDirectory);
        }

        foreach (string directory in directories)
        {
            string candidate = Path.Combine(directory, command);
            if (IsExecutableFile(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        return command;
    }

    private static bool IsExecutableFile(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        if (OperatingSystem.IsWindows())
        {
            return true;
        }

        const UnixFileMode AnyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        return (File.GetUnixFileMode(path) & AnyExecute) != 0;
    }

    private ControlPlaneSettings ApplyOverrides(ControlPlaneSettings settings, List<Entry> services)
    {
        foreach ((string variable, string? value) in environment.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (value is null)
            {
                continue;
            }

            settings = variable switch
            {
                "AUTONOMIC_API" => settings with { Api = Override(variable, "control_plane.api", FleetValues.HttpUrl(value), value) },
                "AUTONOMIC_STORE" => settings with { Store = Override(variable, "control_plane.store", FleetValues.NonEmpty(value, "a store URL"), value) },
                "AUTONOMIC_BUS" => settings with { Bus = Override(variable, "control_plane.bus", FleetValues.NonEmpty(value, "a bus URL"), value) },
                "AUTONOMIC_REDIS" or "AUTONOMIC_LEASES" => settings with { Leases = Override(variable, "control_plane.leases", FleetValues.NonEmpty(value, "a lease backend URL"), value) },
                "AUTONOMIC_LOG_DIR" => settings with { LogDirectory = Override(variable, "control_plane.log_dir", FleetValues.NonEmpty(value, "a directory"), value) },
                "AUTONOMIC_DRY_RUN" => settings with
                {
                    DryRun = Override(variable, "control_plane.dry_run", FleetValues.Boolean(value, lenient: true, out bool dry), dry),
                },
                _ => settings,
            };

            if (variable.StartsWith(ServiceVariablePrefix, StringComparison.Ordinal))
            {
                ApplyServiceOverride(variable, value, services);
            }
        }

        return settings;
    }

    private void ApplyServiceOverride(string variable, string value, List<Entry> services)
    {
        string[] parts = variable[ServiceVariablePrefix.Length..].Split("__");
        if (parts.Length != 2)
        {
            throw new FleetFileException(file, 0, 0, "services", $"{variable}: expected AUTONOMIC_SERVICES__NAME__REPLICAS, __PORT or __LB_PORT");
        }

        static string VariableName(string service) => service.ToUpperInvariant().Replace('-', '_');
        Entry entry = services.FirstOrDefault(e => VariableName(e.Key) == parts[0])
            ?? throw new FleetFileException(file, 0, 0, "services", $"{variable}: " + FleetValues.Unknown("service", parts[0], services.Select(e => VariableName(e.Key)).ToList()));
        switch (parts[1])
        {
            case "REPLICAS":
                entry.Spec = entry.Spec with
                {
                    Replicas = (int)Override(variable, entry.Field + ".replicas", FleetValues.Integer(value, 0, 100, out long replicas), replicas),
                };
                entry.ReplicasVariable = variable;
                break;
            case "PORT":
                entry.Spec = entry.Spec with
                {
                    Port = (int)Override(variable, entry.Field + ".port", FleetValues.Integer(value, 1, 65535, out long port), port),
                };
                entry.PortVariable = variable;
                break;
            case "LB_PORT" when entry.Spec.LoadBalancer is { } lb:
                entry.Spec = entry.Spec with
                {
                    LoadBalancer = lb with { Port = (int)Override(variable, entry.Field + ".load_balancer.port", FleetValues.Integer(value, 1, 65535, out long lbPort), lbPort) },
                };
                break;
            case "LB_PORT":
                throw new FleetFileException(file, 0, 0, entry.Field + ".load_balancer", $"{variable}: the service has no load balancer to move");
            default:
                throw new FleetFileException(file, 0, 0, entry.Field, $"{variable}: " + FleetValues.Unknown("override", parts[1], ["REPLICAS", "PORT", "LB_PORT"]));
        }
    }

    private T Override<T>(string variable, string field, string? error, T value) =>
        error is null ? value : throw new FleetFileException(file, 0, 0, field, $"{variable}: {error}");

    private void CheckPorts(ControlPlaneSettings settings, List<Entry> services)
    {
        int? apiPort = Uri.TryCreate(settings.Api, UriKind.Absolute, out Uri? api) && api.IsLoopback ? api.Port : null;
        var taken = new List<(Entry Entry, int First, int Last)>();
        foreach (Entry entry in services)
        {
            if (entry.Spec.Port is not { } first || entry.Spec.Replicas == 0)
            {
                continue;
            }

            int last = first + entry.Spec.Replicas - 1;
            if (last > 65535)
            {
                throw PortError(entry, $"replica ports {first}-{last} go past 65535");
            }

            if (apiPort is { } ap && ap >= first && ap <= last)
            {
                throw PortError(entry, $"ports {Range(first, last)} include the control plane API port {ap}");
            }

            foreach ((Entry other, int otherFirst, int otherLast) in taken)
            {
                if (first <= otherLast && otherFirst <= last)
                {
                    // Blame the side an override changed, since that is what the user must look at.
                    bool blameOther = entry.PortVariable is null && entry.ReplicasVariable is null
                        && (other.PortVariable is not null || other.ReplicasVariable is not null);
                    (Entry blamed, int bf, int bl, Entry peer, int pf, int pl) = blameOther
                        ? (other, otherFirst, otherLast, entry, first, last)
                        : (entry, first, last, other, otherFirst, otherLast);
                    throw PortError(blamed, $"ports {Range(bf, bl)} overlap {peer.Key}'s ports {Range(pf, pl)} (one port per replica, from port to port+replicas-1)");
                }
            }

            taken.Add((entry, first, last));
        }
    }

    private FleetFileException PortError(Entry entry, string reason) =>
        (entry.PortVariable ?? entry.ReplicasVariable) is { } variable
            ? new FleetFileException(file, 0, 0, entry.Field + ".port", $"{variable}: {reason}")
            : Fail(entry.PortMark, entry.Field + ".port", reason);

    private static string Range(int first, int last) => first == last ? first.ToString(System.Globalization.CultureInfo.InvariantCulture) : $"{first}-{last}";

    private static string Show(TimeSpan t) =>
        t.TotalMilliseconds < 1000 || t.TotalMilliseconds % 1000 != 0 ? $"{t.TotalMilliseconds}ms" : $"{t.TotalSeconds}s";
}
