using System.Globalization;

namespace Autonomic.Workloads;

/// <summary>How the workload runs: an HTTP service, or a worker loop that optionally serves the same endpoints.</summary>
internal enum WorkloadMode
{
    Web,
    Worker,
}

/// <summary>Settings read from the command line, with environment variables as fallback.</summary>
internal sealed record WorkloadOptions
{
    public const string Usage = """
        usage: autonomic-workload [--mode web|worker] [--port N] [--host ADDRESS] [--work-interval MS]
                                  [--work-ms MS] [--work-wait-ms MS] [--work-slots N]

        A small HTTP/1.1 service with fault hooks for demos, tests and recovery benchmarks.

          --mode web|worker   web (default) serves HTTP; worker does periodic fake work and serves HTTP
                              only when a port is given                           (env WORKLOAD_MODE)
          --port N            port to listen on; 0 picks a free one; web default 8080 (env PORT)
          --host ADDRESS      address to bind, default 127.0.0.1                  (env WORKLOAD_HOST)
          --work-interval MS  worker: milliseconds between batches, default 200   (env WORKLOAD_WORK_INTERVAL_MS)
          --work-ms MS        GET /work burns this much CPU time per request, default 1 (env WORK_MS)
          --work-wait-ms MS   GET /work then waits this long without CPU (a disk or a downstream call),
                              default 0                                          (env WORK_WAIT_MS)
          --work-slots N      at most N /work requests are worked on at once, the rest queue in arrival
                              order; 0 (default) means no limit                   (env WORK_SLOTS)
                              With slots, one replica saturates at N*1000/(work-ms+work-wait-ms) per second.
          --help              print this text

        Instance name for GET / comes from env AUTONOMIC_INSTANCE.

        Endpoints: GET /healthz, /readyz, /, /metrics, /work
        Faults (GET or POST): /fault/crash, /fault/hang[?mode=block|stop], /fault/leak?mb_per_s=N[&max_mb=M],
          /fault/slow?ms=N, /fault/errors?rate=R, /fault/unready, /fault/cpu?seconds=S, /fault/reset
        Slow and errors apply to every later request (healthz included) except /fault/*, so reset always works.
        Hang: mode=block (default) stops accepting and answering in-process; the process stays alive and still
        exits 0 on SIGTERM. mode=stop sends SIGSTOP to itself: frozen until SIGCONT or SIGKILL.
        Crash answers, then exits with code 1. SIGTERM or SIGINT: clean exit with code 0.
        """;

    public WorkloadMode Mode { get; init; } = WorkloadMode.Web;
    /// <summary>Null in worker mode when no port was given: the worker serves nothing.</summary>
    public int? Port { get; init; }
    public string Host { get; init; } = "127.0.0.1";
    public int WorkIntervalMs { get; init; } = 200;
    /// <summary>CPU milliseconds burnt by each GET /work.</summary>
    public double WorkMs { get; init; } = 1;
    /// <summary>Milliseconds each GET /work waits (without CPU) after burning.</summary>
    public double WorkWaitMs { get; init; }
    /// <summary>How many /work requests are served at once; 0 means no limit.</summary>
    public int WorkSlots { get; init; }
    public string Instance { get; init; } = "workload";
    public bool ShowHelp { get; init; }

    /// <summary>Parses <paramref name="args"/>; throws <see cref="FormatException"/> with a readable reason.</summary>
    public static WorkloadOptions Parse(string[] args, Func<string, string?> env)
    {
        string? mode = env("WORKLOAD_MODE");
        string? port = env("PORT");
        string? host = env("WORKLOAD_HOST");
        string? interval = env("WORKLOAD_WORK_INTERVAL_MS");
        string? workMs = env("WORK_MS");
        string? workWaitMs = env("WORK_WAIT_MS");
        string? workSlots = env("WORK_SLOTS");
        bool help = false;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? inline = null;
            int eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0)
            {
                inline = arg[(eq + 1)..];
                arg = arg[..eq];
            }

            string Value()
            {
                if (inline is not null)
                {
                    return inline;
                }

                if (i + 1 >= args.Length)
                {
                    throw new FormatException($"{arg} needs a value");
                }

                return args[++i];
            }

            switch (arg)
            {
                case "--help" or "-h":
                    help = true;
                    break;
                case "--mode":
                    mode = Value();
                    break;
                case "--port":
                    port = Value();
                    break;
                case "--host":
                    host = Value();
                    break;
                case "--work-interval":
                    interval = Value();
                    break;
                case "--work-ms":
                    workMs = Value();
                    break;
                case "--work-wait-ms":
                    workWaitMs = Value();
                    break;
                case "--work-slots":
                    workSlots = Value();
                    break;
                default:
                    throw new FormatException($"unknown argument '{args[i]}' (see --help)");
            }
        }

        WorkloadMode parsedMode = (mode ?? "web").ToLowerInvariant() switch
        {
            "web" => WorkloadMode.Web,
            "worker" => WorkloadMode.Worker,
            _ => throw new FormatException($"mode must be web or worker, got '{mode}'"),
        };

        int? parsedPort = null;
        if (!string.IsNullOrEmpty(port))
        {
            if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p > 65535)
            {
                throw new FormatException($"port must be an integer 0..65535, got '{port}'");
            }

            parsedPort = p;
        }
        else if (parsedMode == WorkloadMode.Web)
        {
            parsedPort = 8080;
        }

        int parsedInterval = 200;
        if (!string.IsNullOrEmpty(interval)
            && (!int.TryParse(interval, NumberStyles.None, CultureInfo.InvariantCulture, out parsedInterval) || parsedInterval < 1))
        {
            throw new FormatException($"work interval must be a positive number of milliseconds, got '{interval}'");
        }

        double parsedWorkMs = Milliseconds(workMs, "work-ms", 1);
        double parsedWaitMs = Milliseconds(workWaitMs, "work-wait-ms", 0);
        int parsedSlots = 0;
        if (!string.IsNullOrEmpty(workSlots)
            && (!int.TryParse(workSlots, NumberStyles.None, CultureInfo.InvariantCulture, out parsedSlots) || parsedSlots > 10_000))
        {
            throw new FormatException($"work slots must be an integer 0..10000, got '{workSlots}'");
        }

        string instance = env("AUTONOMIC_INSTANCE") is { Length: > 0 } name ? name : "workload";
        return new WorkloadOptions
        {
            Mode = parsedMode,
            Port = parsedPort,
            Host = string.IsNullOrEmpty(host) ? "127.0.0.1" : host,
            WorkIntervalMs = parsedInterval,
            WorkMs = parsedWorkMs,
            WorkWaitMs = parsedWaitMs,
            WorkSlots = parsedSlots,
            Instance = instance,
            ShowHelp = help,
        };
    }

    private static double Milliseconds(string? text, string name, double fallback)
    {
        if (string.IsNullOrEmpty(text))
        {
            return fallback;
        }

        if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value) || value > 60_000)
        {
            throw new FormatException($"{name} must be a number of milliseconds 0..60000, got '{text}'");
        }

        return value;
    }
}
