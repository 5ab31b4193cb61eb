namespace Autonomic.Core.Scaling;

/// <summary>
/// One second of a service's traffic as its load balancer saw it (published as <c>traffic.sample</c>):
/// request rate (requests that arrived, so a saturated service still shows its demand), latency percentiles
/// of the requests that completed, the fraction that failed (5xx or proxy errors), requests in flight
/// at the end of the second, and the replicas that were receiving traffic.
/// </summary>
public sealed record TrafficSample(
    string Service,
    DateTimeOffset AtUtc,
    double RequestsPerSecond,
    double LatencyMsP50,
    double LatencyMsP95,
    double ErrorRate,
    int InFlight,
    int ReadyReplicas);
