using System.Text.Json.Serialization;

namespace Autonomic.Core.Security;

/// <summary>How bad a detection is.</summary>
public enum Severity
{
    Low,
    Medium,
    High,
}

/// <summary>
/// Data of <see cref="Model.EventTypes.SecurityAlert"/>: a detection with the rule that made it, the attack class,
/// the offending source and the evidence (the lines or events that matched).
/// </summary>
public sealed record SecurityAlert
{
    public required string Id { get; init; }
    public required DateTimeOffset Time { get; init; }
    /// <summary>The rule or detector, e.g. <c>sshd-bruteforce</c>, <c>anomaly.isolation-forest</c>, <c>drain.novel-template</c>.</summary>
    public required string Rule { get; init; }
    /// <summary>Attack class: <c>brute_force</c>, <c>sqli</c>, <c>xss</c>, <c>path_traversal</c>, <c>scanner</c>, <c>probing</c>, <c>user_enum</c>, <c>privilege_probing</c>, <c>anomaly</c>, <c>key_misuse</c>, <c>novel_log</c>.</summary>
    public required string Class { get; init; }
    public Severity Severity { get; init; }
    /// <summary>Offending source address, when known.</summary>
    public string? SourceIp { get; init; }
    /// <summary>API key involved, when any.</summary>
    public string? KeyId { get; init; }
    /// <summary>Where the evidence came from: a log file, <c>gateway</c>, or a service's load balancer.</summary>
    public string? Subject { get; init; }
    /// <summary>The instance whose own log the evidence is from, when it is one (the target of a quarantine).</summary>
    public string? Instance { get; init; }
    /// <summary>The response the rule asks for: <c>block</c>, <c>suspend_key</c>, <c>rate_limit</c>, <c>quarantine</c>, or <c>none</c>.</summary>
    public string Response { get; init; } = "none";
    public required string Reason { get; init; }
    public IReadOnlyList<string> Evidence { get; init; } = [];
}

/// <summary>A block of a source address, stored in the <c>security_blocks</c> collection under the address.</summary>
public sealed record BlockRecord
{
    [JsonPropertyName("ip")]
    public required string Ip { get; init; }
    public required string Reason { get; init; }
    public required string Rule { get; init; }
    public DateTimeOffset Since { get; init; }
    public DateTimeOffset Until { get; init; }
    /// <summary>How many times this address has been banned, this ban included (drives the ban time increment).</summary>
    public int Count { get; init; } = 1;
    /// <summary>False once expired or lifted; the record stays to remember repeat offenders.</summary>
    public bool Active { get; init; } = true;
    public bool DryRun { get; init; }
    public IReadOnlyList<string> Evidence { get; init; } = [];
}

/// <summary>A suspended API key, stored in the <c>key_suspensions</c> collection under the key id; the auth layer refuses it while active.</summary>
public sealed record KeySuspension
{
    public required string KeyId { get; init; }
    public required string Reason { get; init; }
    public DateTimeOffset Since { get; init; }
    public DateTimeOffset Until { get; init; }
    public bool Active { get; init; } = true;
}

/// <summary>Data of <see cref="Model.EventTypes.SecurityResponse"/>: a response taken (or lifted).</summary>
public sealed record SecurityResponse
{
    /// <summary>
    /// <c>block</c>, <c>unblock</c>, <c>suspend_key</c>, <c>unsuspend_key</c>, <c>rate_limit</c>, <c>unrate_limit</c>,
    /// <c>quarantine</c>, <c>unquarantine</c>.
    /// </summary>
    public required string Kind { get; init; }
    /// <summary>The address, key id, client or instance it applies to.</summary>
    public required string Target { get; init; }
    public DateTimeOffset? Until { get; init; }
    public required string Reason { get; init; }
    public string? Rule { get; init; }
    public bool DryRun { get; init; }
    public string? AlertId { get; init; }
    /// <summary>Rate limit, in requests per second, for <c>rate_limit</c>.</summary>
    public double? RequestsPerSecond { get; init; }
}

/// <summary>
/// A rate limit on a client address (in <c>security_rate_limits</c>, under the address) or a quarantined instance (in
/// <c>security_quarantines</c>, under the instance id). Like a block it expires and can be lifted; the record stays,
/// inactive, as history.
/// </summary>
public sealed record ResponseRecord
{
    /// <summary><c>rate_limit</c> or <c>quarantine</c>.</summary>
    public required string Kind { get; init; }
    /// <summary>The client address or the instance id.</summary>
    public required string Target { get; init; }
    public required string Reason { get; init; }
    public required string Rule { get; init; }
    public DateTimeOffset Since { get; init; }
    public DateTimeOffset Until { get; init; }
    /// <summary>False once expired or lifted.</summary>
    public bool Active { get; init; } = true;
    public bool DryRun { get; init; }
    /// <summary>For <c>rate_limit</c>: requests per second the client is held to.</summary>
    public double? RequestsPerSecond { get; init; }
    /// <summary>Who asked for it: <c>security</c> (the agent) or the operator's key id.</summary>
    public string By { get; init; } = "security";
    public string? AlertId { get; init; }
    public IReadOnlyList<string> Evidence { get; init; } = [];

    /// <summary>True when it holds at <paramref name="now"/>: active, not a dry run, not expired.</summary>
    public bool InForce(DateTimeOffset now) => Active && !DryRun && Until > now;
}

/// <summary>Collection names of the security agent's documents.</summary>
public static class SecurityCollections
{
    public const string Blocks = "security_blocks";
    public const string RateLimits = "security_rate_limits";
    public const string Quarantines = "security_quarantines";
    public const string KeySuspensions = "key_suspensions";
    public const string Alerts = "security_alerts";
}
