namespace Autonomic.Core.Policies;

/// <summary>The verdict of a probe after its thresholds: unknown until the first threshold is reached.</summary>
public enum ProbeVerdict
{
    Unknown,
    Passing,
    Failing,
}

/// <summary>
/// Consecutive-result counting of one probe, as Kubernetes does: <c>FailureThreshold</c> failures in a row turn it
/// failing, <c>SuccessThreshold</c> passes in a row turn it passing. Immutable.
/// </summary>
public sealed record ProbeTracker(ProbeVerdict Verdict, int Passes, int Failures, DateTimeOffset? FirstFailureAt)
{
    public static readonly ProbeTracker Initial = new(ProbeVerdict.Unknown, 0, 0, null);

    /// <summary>Adds one result; <see cref="Changed"/> on the result says whether the verdict changed.</summary>
    public ProbeTracker Observe(bool ok, int successThreshold, int failureThreshold, DateTimeOffset at)
    {
        if (ok)
        {
            var passes = Passes + 1;
            var verdict = passes >= successThreshold ? ProbeVerdict.Passing : Verdict;
            return new ProbeTracker(verdict, passes, 0, null) { Changed = verdict != Verdict };
        }

        var failures = Failures + 1;
        var next = failures >= failureThreshold ? ProbeVerdict.Failing : Verdict;
        return new ProbeTracker(next, 0, failures, FirstFailureAt ?? at) { Changed = next != Verdict };
    }

    /// <summary>Whether the last <see cref="Observe"/> changed the verdict.</summary>
    public bool Changed { get; init; }
}
