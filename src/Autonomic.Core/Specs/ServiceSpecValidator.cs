using System.Text.RegularExpressions;

namespace Autonomic.Core.Specs;

/// <summary>One thing wrong with a spec: the field (a camelCase JSON path such as <c>health.liveness.timeout</c>) and why.</summary>
public sealed record SpecError(string Field, string Message);

/// <summary>
/// Checks a <see cref="ServiceSpec"/> that did not come through the fleet file reader (the API's JSON), with the
/// same rules: DNS-label names, a command, replicas 0 to 100, ports 1 to 65535 with every replica's port in range,
/// sane probes, restart policy and trends. Pure.
/// </summary>
public static partial class ServiceSpecValidator
{
    public const int MaxReplicas = 100;

    [GeneratedRegex("^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvName();

    /// <summary>True when <paramref name="name"/> is a valid service name.</summary>
    public static bool IsValidName(string? name) => name is not null && DnsLabel().IsMatch(name);

    /// <summary>Every error of <paramref name="spec"/>; empty when it is valid.</summary>
    public static IReadOnlyList<SpecError> Validate(ServiceSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        var errors = new List<SpecError>();
        void Fail(string field, string message) => errors.Add(new SpecError(field, message));

        if (!IsValidName(spec.Name))
        {
            Fail("name", $"'{spec.Name}' must be a DNS label: lowercase letters, digits and '-', starting with a letter, not ending with '-', at most 63 characters");
        }

        if (string.IsNullOrWhiteSpace(spec.Command))
        {
            Fail("command", "missing; every service needs a command");
        }

        if (spec.Args is null || spec.Args.Any(a => a is null))
        {
            Fail("args", "must be a list of strings");
        }

        if (spec.Env is null)
        {
            Fail("env", "must be a map of variable names to strings");
        }
        else
        {
            foreach (var (name, value) in spec.Env)
            {
                if (!EnvName().IsMatch(name))
                {
                    Fail($"env.{name}", "a variable name is letters, digits and '_', not starting with a digit");
                }
                else if (value is null)
                {
                    Fail($"env.{name}", "must be a string");
                }
            }
        }

        if (spec.WorkingDirectory is { } dir && string.IsNullOrWhiteSpace(dir))
        {
            Fail("workingDirectory", "must not be empty (leave it out for the control plane's directory)");
        }

        if (spec.Replicas is < 0 or > MaxReplicas)
        {
            Fail("replicas", $"must be from 0 to {MaxReplicas}, not {spec.Replicas}");
        }

        if (spec.Port is { } port)
        {
            if (port is < 1 or > 65535)
            {
                Fail("port", $"must be from 1 to 65535, not {port}");
            }
            else if (spec.Replicas is > 0 and <= MaxReplicas && port + spec.Replicas - 1 > 65535)
            {
                Fail("port", $"replica ports {port}-{port + spec.Replicas - 1} go past 65535");
            }
        }

        if (spec.StopGracePeriod < TimeSpan.Zero)
        {
            Fail("stopGracePeriod", "must not be negative");
        }

        if (spec.Health is null)
        {
            Fail("health", "must be an object (or left out)");
        }
        else
        {
            Probe(spec.Health.Liveness, "health.liveness", errors);
            Probe(spec.Health.Readiness, "health.readiness", errors);
            Probe(spec.Health.Startup, "health.startup", errors);
        }

        if (spec.Restart is null)
        {
            Fail("restart", "must be an object (or left out)");
        }
        else
        {
            Restart(spec.Restart, errors);
        }

        if (spec.Limits is null)
        {
            Fail("limits", "must be an object (or left out)");
        }
        else if (spec.Limits is { } limits)
        {
            if (limits.MemoryBytes is <= 0)
            {
                Fail("limits.memoryBytes", "must be positive");
            }

            if (limits.Cpus is { } cpus && (cpus is < 0.001 or > 1024 || double.IsNaN(cpus)))
            {
                Fail("limits.cpus", "must be from 0.001 to 1024");
            }
        }

        if (spec.Trends is null)
        {
            Fail("trends", "must be an object (or left out)");
        }
        else if (spec.Trends is { } trends)
        {
            if (trends.LeakHorizon <= TimeSpan.Zero)
            {
                Fail("trends.leakHorizon", "must be positive");
            }

            if (trends.LatencyLimit is { } latency && latency <= TimeSpan.Zero)
            {
                Fail("trends.latencyLimit", "must be positive");
            }

            if (trends.Window is < 2 or > 100_000)
            {
                Fail("trends.window", "must be from 2 to 100000");
            }

            if (trends.MinSamples is < 2 or > 100_000)
            {
                Fail("trends.minSamples", "must be from 2 to 100000");
            }
            else if (trends.MinSamples > trends.Window)
            {
                Fail("trends.minSamples", $"min samples ({trends.MinSamples}) must not exceed window ({trends.Window})");
            }
        }

        return errors;
    }

    /// <summary>
    /// The errors of running <paramref name="spec"/> beside <paramref name="others"/> (the other services) and an API
    /// listening on <paramref name="apiPort"/>: replica ports may overlap neither.
    /// </summary>
    public static IReadOnlyList<SpecError> CheckPorts(ServiceSpec spec, IEnumerable<ServiceSpec> others, int? apiPort)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentNullException.ThrowIfNull(others);
        if (spec.Port is not { } first || spec.Replicas <= 0)
        {
            return [];
        }

        var last = first + spec.Replicas - 1;
        if (apiPort is { } api && api >= first && api <= last)
        {
            return [new SpecError("port", $"ports {first}-{last} include the control plane API port {api}")];
        }

        foreach (var other in others)
        {
            if (other.Name == spec.Name || other.Port is not { } otherFirst || other.Replicas <= 0)
            {
                continue;
            }

            var otherLast = otherFirst + other.Replicas - 1;
            if (first <= otherLast && otherFirst <= last)
            {
                return [new SpecError("port", $"ports {first}-{last} overlap {other.Name}'s ports {otherFirst}-{otherLast} (one port per replica)")];
            }
        }

        return [];
    }

    private static void Probe(ProbeSpec? probe, string at, List<SpecError> errors)
    {
        if (probe is null)
        {
            return;
        }

        void Fail(string field, string message) => errors.Add(new SpecError($"{at}.{field}", message));
        if (!Enum.IsDefined(probe.Kind))
        {
            Fail("kind", "must be http, tcp or exec");
        }

        if (probe.Kind == ProbeKind.Http && (probe.Path is null || !probe.Path.StartsWith('/')))
        {
            Fail("path", $"expected a request path starting with /, got '{probe.Path}'");
        }

        if (probe.Kind == ProbeKind.Exec && (probe.Command is null || probe.Command.Count == 0 || probe.Command.Any(string.IsNullOrEmpty)))
        {
            Fail("command", "an exec probe needs a command, e.g. [\"pg_isready\", \"-q\"]");
        }

        if (probe.Port is < 1 or > 65535)
        {
            Fail("port", $"must be from 1 to 65535, not {probe.Port}");
        }

        if (probe.Period <= TimeSpan.Zero)
        {
            Fail("period", "must be positive");
        }

        if (probe.Timeout <= TimeSpan.Zero)
        {
            Fail("timeout", "must be positive");
        }
        else if (probe.Period > TimeSpan.Zero && probe.Timeout > probe.Period)
        {
            Fail("timeout", $"timeout ({probe.Timeout.TotalMilliseconds}ms) must not exceed period ({probe.Period.TotalMilliseconds}ms)");
        }

        if (probe.SuccessThreshold is < 1 or > 1000)
        {
            Fail("successThreshold", "must be from 1 to 1000");
        }

        if (probe.FailureThreshold is < 1 or > 1000)
        {
            Fail("failureThreshold", "must be from 1 to 1000");
        }

        if (probe.InitialDelay < TimeSpan.Zero)
        {
            Fail("initialDelay", "must not be negative");
        }
    }

    private static void Restart(RestartPolicy r, List<SpecError> errors)
    {
        void Fail(string field, string message) => errors.Add(new SpecError("restart." + field, message));
        if (!Enum.IsDefined(r.Mode))
        {
            Fail("mode", "must be always, on_failure or never");
        }

        if (r.BackoffInitial < TimeSpan.Zero)
        {
            Fail("backoffInitial", "must not be negative");
        }

        if (r.BackoffMax < TimeSpan.Zero)
        {
            Fail("backoffMax", "must not be negative");
        }
        else if (r.BackoffInitial > r.BackoffMax)
        {
            Fail("backoffInitial", "must not exceed backoffMax");
        }

        if (r.ResetAfter < TimeSpan.Zero)
        {
            Fail("resetAfter", "must not be negative");
        }

        if (r.Budget is < 1 or > 1_000_000)
        {
            Fail("budget", "must be from 1 to 1000000");
        }

        if (r.BudgetWindow <= TimeSpan.Zero)
        {
            Fail("budgetWindow", "must be positive");
        }

        if (r.Jitter is < 0 or > 1 || double.IsNaN(r.Jitter))
        {
            Fail("jitter", "must be from 0 to 1");
        }

        if (r.RateBurst is < 1 or > 1_000_000)
        {
            Fail("rateBurst", "must be from 1 to 1000000");
        }

        if (r.RatePerMinute is < 0.001 or > 1_000_000 || double.IsNaN(r.RatePerMinute))
        {
            Fail("ratePerMinute", "must be from 0.001 to 1000000");
        }
    }
}
