using System.Text.Json.Serialization;

namespace Autonomic.Core.Security;

/// <summary>
/// Data of <see cref="Model.EventTypes.GatewayAccess"/>: one request the gateway or a service's load balancer answered,
/// with the caller's address, the API key id it presented (never the secret), and the outcome. The security agent's
/// input from the API and from the services' traffic.
/// </summary>
public sealed record AccessEvent
{
    [JsonPropertyName("time")]
    public DateTimeOffset Time { get; init; }

    /// <summary>The caller's address; empty when the server did not know it.</summary>
    [JsonPropertyName("clientIp")]
    public required string ClientIp { get; init; }

    /// <summary>The id of the API key presented, or null without one.</summary>
    [JsonPropertyName("keyId")]
    public string? KeyId { get; init; }

    [JsonPropertyName("method")]
    public required string Method { get; init; }

    /// <summary>Path and query string as requested.</summary>
    [JsonPropertyName("path")]
    public required string Path { get; init; }

    [JsonPropertyName("status")]
    public int Status { get; init; }

    [JsonPropertyName("userAgent")]
    public string? UserAgent { get; init; }

    [JsonPropertyName("durationMs")]
    public double DurationMs { get; init; }

    [JsonPropertyName("requestId")]
    public string? RequestId { get; init; }

    /// <summary>The service whose load balancer answered; null for the control plane's own API.</summary>
    [JsonPropertyName("service")]
    public string? Service { get; init; }
}
