using Autonomic.Core.Model;

namespace Autonomic.Gateway;

/// <summary>The body of <c>GET /api/v1/status</c>: every known service with its instances, and the open incident count.</summary>
public sealed record StatusView(IReadOnlyList<ServiceStatus> Services, int IncidentsOpen);

/// <summary>One service in <see cref="StatusView"/>: desired replicas, how many are ready, and its instances by index.</summary>
public sealed record ServiceStatus(string Name, int Replicas, int Ready, IReadOnlyList<InstanceRecord> Instances);

/// <summary>The body of <c>POST /api/v1/chaos</c>: a fault name and a target (<c>web</c>, <c>web/1</c> or <c>web-1</c>).</summary>
public sealed record ChaosRequest(string? Fault, string? Target);
