namespace Autonomic.Core.Scaling;

/// <summary>
/// Data of <see cref="Model.EventTypes.TrafficSample"/>: one service's traffic over the load balancer's last sampling
/// interval. Published by the load balancer, consumed by the scaling and optimization agents.
/// </summary>
/// <param name="Service">The service the numbers are about.</param>
/// <param name="AtUtc">End of the sampling interval.</param>
/// <param name="RequestsPerSecond">Requests that arrived per second over the interval (so a saturated service still shows its demand).</param>
/// <param name="LatencyMsP50">Median latency of the requests that completed, in milliseconds.</param>
/// <param name="LatencyMsP95">95th percentile request latency in milliseconds.</param>
/// <param name="ErrorRate">Fraction (0..1) of requests that failed.</param>
/// <param name="InFlight">Requests in progress at the end of the interval.</param>
/// <param name="ReadyReplicas">Replicas the load balancer could send traffic to.</param>
public sealed record TrafficSample(
    string Service,
    DateTimeOffset AtUtc,
    double RequestsPerSecond,
    double LatencyMsP50,
    double LatencyMsP95,
    double ErrorRate,
    int InFlight,
    int ReadyReplicas);
