using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;

namespace Autonomic.Traffic;

/// <summary>
/// Passive health: a destination whose last N forwarded requests all failed at the transport level
/// (connection refused or reset, timeout) is marked unhealthy for the reactivation period; any success resets
/// the count. N comes from the cluster metadata <see cref="ThresholdKey"/>.
/// </summary>
internal sealed class ConsecutiveFailuresPassivePolicy(IDestinationHealthUpdater updater) : IPassiveHealthCheckPolicy
{
    public const string PolicyName = "AutonomicConsecutiveFailures";
    public const string ThresholdKey = "Autonomic.PassiveFailures";

    private readonly ConcurrentDictionary<(string Cluster, string Destination), int> _failures = new();

    public string Name => PolicyName;

    public void RequestProxied(HttpContext context, ClusterState cluster, DestinationState destination)
    {
        var key = (cluster.ClusterId, destination.DestinationId);
        if (context.Features.Get<IForwarderErrorFeature>() is not { } error || !IsTransportFailure(error.Error))
        {
            _failures.TryRemove(key, out _);
            return;
        }

        int failures = _failures.AddOrUpdate(key, 1, (_, n) => n + 1);
        int threshold = cluster.Model.Config.Metadata?.TryGetValue(ThresholdKey, out string? t) == true
            && int.TryParse(t, NumberStyles.None, CultureInfo.InvariantCulture, out int parsed) ? parsed : 3;
        if (failures >= threshold)
        {
            _failures.TryRemove(key, out _);
            TimeSpan reactivation = cluster.Model.Config.HealthCheck?.Passive?.ReactivationPeriod ?? TimeSpan.FromSeconds(10);
            updater.SetPassive(cluster, destination, DestinationHealth.Unhealthy, reactivation);
        }
    }

    private static bool IsTransportFailure(ForwarderError error) =>
        error is ForwarderError.Request or ForwarderError.RequestTimedOut or ForwarderError.ResponseHeaders;
}
