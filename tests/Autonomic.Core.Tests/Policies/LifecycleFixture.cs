using Autonomic.Core.Model;
using Autonomic.Core.Policies;
using Autonomic.Core.Specs;

namespace Autonomic.Core.Tests.Policies;

/// <summary>Specs, states and a fixed clock shared by the lifecycle tests.</summary>
internal static class LifecycleFixture
{
    public static readonly DateTimeOffset T0 = new(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);

    public static readonly ProbeSpec Probe = new() { Kind = ProbeKind.Http };

    /// <summary>A service with no probes: launched means ready.</summary>
    public static ServiceSpec Bare(RestartPolicy? restart = null) =>
        new() { Name = "api", Command = "api", Restart = restart ?? new RestartPolicy() };

    public static ServiceSpec WithReadiness(RestartPolicy? restart = null) =>
        Bare(restart) with { Health = new HealthChecks { Readiness = Probe } };

    public static ServiceSpec WithStartup(bool readiness) =>
        Bare() with { Health = new HealthChecks { Startup = Probe, Readiness = readiness ? Probe : null } };

    public static Lifecycle In(InstanceState state) => new() { State = state };

    public static Transition Step(Lifecycle s, Observation o, ServiceSpec? spec = null, DateTimeOffset? now = null, double random = 0.5) =>
        InstanceLifecycle.Next(s, o, spec ?? Bare(), now ?? T0, random);

    public static Observation.Exited Crash(DateTimeOffset? at = null) => new("exit code 1", Clean: false, at ?? T0);

    public static Observation.Exited CleanExit(DateTimeOffset? at = null) => new("exit code 0", Clean: true, at ?? T0);

    public static T Single<T>(Transition t)
        where T : Directive
    {
        var d = Assert.Single(t.Directives);
        return Assert.IsType<T>(d);
    }

    public static string[] Kinds(Transition t) => t.Directives.Select(d => d.GetType().Name).ToArray();
}
