namespace Autonomic.Core.Specs;

/// <summary>One log the security agent follows.</summary>
/// <param name="Path">The file.</param>
/// <param name="Format"><c>sshd</c>, <c>access</c> (Apache/nginx common or combined), <c>apache_error</c>, or <c>text</c> (template mining only).</param>
/// <param name="FromStart">Read the existing content first instead of starting at the end.</param>
public sealed record SecurityLogSource(string Path, string Format, bool FromStart = false);

/// <summary>The <c>control_plane.security</c> section of the fleet file.</summary>
public sealed record SecuritySettings
{
    public IReadOnlyList<SecurityLogSource> Logs { get; init; } = [];
    /// <summary>Directories of extra YAML rule files, read after the built-in pack.</summary>
    public IReadOnlyList<string> RuleDirectories { get; init; } = [];
    /// <summary>CIDRs (or single addresses) that are never blocked.</summary>
    public IReadOnlyList<string> Allowlist { get; init; } = ["127.0.0.1/32", "::1/128"];
    /// <summary>Decide and record responses, but do not enforce them.</summary>
    public bool DryRun { get; init; }
    public TimeSpan BanTime { get; init; } = TimeSpan.FromMinutes(10);
    public double BanFactor { get; init; } = 2;
    public TimeSpan BanMaxTime { get; init; } = TimeSpan.FromDays(7);
    /// <summary>How long an API key stays suspended.</summary>
    public TimeSpan SuspendTime { get; init; } = TimeSpan.FromHours(1);
    /// <summary>Requests per second a rate-limited client is held to.</summary>
    public double RateLimit { get; init; } = 1;
    /// <summary>How long a rate limit lasts.</summary>
    public TimeSpan RateLimitTime { get; init; } = TimeSpan.FromMinutes(10);
    /// <summary>How long an instance stays quarantined (out of the load balancer, kept running).</summary>
    public TimeSpan QuarantineTime { get; init; } = TimeSpan.FromHours(1);
    /// <summary>Follow every instance's own log (its file in the log directory) for template novelty and rules.</summary>
    public bool ServiceLogs { get; init; } = true;

    /// <summary>Value equality, lists compared element by element (settings read twice from one file are equal).</summary>
    public bool Equals(SecuritySettings? other) =>
        other is not null &&
        Logs.SequenceEqual(other.Logs) &&
        RuleDirectories.SequenceEqual(other.RuleDirectories) &&
        Allowlist.SequenceEqual(other.Allowlist) &&
        DryRun == other.DryRun &&
        BanTime == other.BanTime &&
        BanFactor.Equals(other.BanFactor) &&
        BanMaxTime == other.BanMaxTime &&
        SuspendTime == other.SuspendTime &&
        RateLimit.Equals(other.RateLimit) &&
        RateLimitTime == other.RateLimitTime &&
        QuarantineTime == other.QuarantineTime &&
        ServiceLogs == other.ServiceLogs;

    public override int GetHashCode() => HashCode.Combine(Logs.Count, RuleDirectories.Count, Allowlist.Count, DryRun, BanTime, BanFactor, BanMaxTime, SuspendTime);
}
