using Autonomic.Core.Specs;
using YamlDotNet.RepresentationModel;

namespace Autonomic.Backends.Fleet;

internal sealed partial class FleetReader
{
    /// <summary>Reads <c>load_balancer:</c> (or its short form <c>lb:</c>); a bare number is the port.</summary>
    private LoadBalancerSpec? ReadLoadBalancer(Section service)
    {
        bool longForm = service.TryGet("load_balancer", out YamlNode? longNode, out _);
        bool shortForm = service.TryGet("lb", out YamlNode? shortNode, out _);
        if (longForm && shortForm)
        {
            throw Fail(shortNode!, service.Field("lb"), $"lb: is the short form of load_balancer:, which is already given (line {longNode!.Start.Line})");
        }

        if (!longForm && !shortForm)
        {
            return null;
        }

        string key = longForm ? "load_balancer" : "lb";
        YamlNode node = longForm ? longNode! : shortNode!;
        if (node is YamlScalarNode)
        {
            int port = service.Int(key, 1, 65535)!.Value;
            return new LoadBalancerSpec { Port = port };
        }

        Section s = service.Child(key, LoadBalancerKeys)!;
        int lbPort = s.Int("port", 1, 65535) ?? throw Fail(node, s.Field("port"), "missing; a load balancer needs the port it listens on");
        var d = new LoadBalancerSpec { Port = lbPort };
        LoadBalancingAlgorithm algorithm = d.Algorithm;
        if (s.Text("algorithm", t => Array.IndexOf(Algorithms, t) >= 0 ? null : FleetValues.Unknown("algorithm", t, Algorithms)) is { } text)
        {
            algorithm = (LoadBalancingAlgorithm)Array.IndexOf(Algorithms, text);
        }

        string? healthPath = s.Text("health_path", t => t.StartsWith('/') ? null : $"expected a path starting with /, got {FleetValues.Quote(t)}");
        return d with
        {
            Algorithm = algorithm,
            HealthPath = healthPath,
            HealthInterval = s.Duration("health_interval", allowZero: false) ?? d.HealthInterval,
            PassiveFailures = s.Int("passive_failures", 1, 1000) ?? d.PassiveFailures,
            DrainTimeout = s.Duration("drain_timeout", allowZero: true) ?? d.DrainTimeout,
        };
    }
}
