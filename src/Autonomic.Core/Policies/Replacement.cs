using Autonomic.Core.Model;

namespace Autonomic.Core.Policies;

/// <summary>
/// When a degraded-but-alive instance may be replaced: one replica of a service at a time, and for a service of
/// two or more replicas only while another replica is ready, so the service never has zero ready replicas.
/// </summary>
public static class Replacement
{
    /// <summary>Whether <paramref name="candidate"/> may be replaced now, and if not, why.</summary>
    public static (bool Allowed, string Reason) CanReplace(string candidate, IReadOnlyCollection<(string Id, InstanceState State)> siblings, int replicas)
    {
        var busy = siblings.FirstOrDefault(s => s.Id != candidate && s.State is InstanceState.Stopping or InstanceState.Starting or InstanceState.Backoff or InstanceState.Running);
        if (busy.Id is not null)
        {
            return (false, $"{busy.Id} is {busy.State.ToString().ToLowerInvariant()}; one replacement at a time");
        }

        if (replicas >= 2 && !siblings.Any(s => s.Id != candidate && s.State == InstanceState.Ready))
        {
            return (false, "no other replica is ready");
        }

        return (true, replicas >= 2 ? "another replica is ready" : "single replica: replacing before it fails outright");
    }
}
