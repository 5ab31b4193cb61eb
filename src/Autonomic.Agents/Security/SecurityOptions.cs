using System.Net;
using Autonomic.Core.Security;
using Autonomic.Core.Specs;

namespace Autonomic.Agents.Security;

/// <summary>The security agent's knobs, built from the fleet file's <c>control_plane.security</c> section.</summary>
public sealed record SecurityOptions
{
    public IReadOnlyList<SecurityLogSource> Logs { get; init; } = [];
    public IReadOnlyList<string> RuleDirectories { get; init; } = [];
    public IReadOnlyList<IPNetwork> Allowlist { get; init; } = [];
    public bool DryRun { get; init; }
    public BanPolicy Ban { get; init; } = new();
    public TimeSpan SuspendTime { get; init; } = TimeSpan.FromHours(1);
    /// <summary>How often the followed logs are read and expired responses lifted.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(250);
    /// <summary>Rate a rate-limited client is held to.</summary>
    public double RateLimitPerSecond { get; init; } = 1;
    public TimeSpan RateLimitTime { get; init; } = TimeSpan.FromMinutes(10);
    public TimeSpan QuarantineTime { get; init; } = TimeSpan.FromHours(1);
    /// <summary>Follow the instances' own logs (<c>{LogDirectory}/{instance}.log</c>).</summary>
    public bool ServiceLogs { get; init; } = true;
    /// <summary>Where the instances' logs are.</summary>
    public string LogDirectory { get; init; } = ".autonomic/logs";

    /// <summary>Options from the fleet file's settings; a bad allowlist entry throws with the entry.</summary>
    public static SecurityOptions From(SecuritySettings settings) => new()
    {
        Logs = settings.Logs,
        RuleDirectories = settings.RuleDirectories,
        Allowlist = settings.Allowlist.Select(ParseNetwork).ToList(),
        DryRun = settings.DryRun,
        Ban = new BanPolicy { BanTime = settings.BanTime, Factor = settings.BanFactor, MaxTime = settings.BanMaxTime },
        SuspendTime = settings.SuspendTime,
        RateLimitPerSecond = settings.RateLimit,
        RateLimitTime = settings.RateLimitTime,
        QuarantineTime = settings.QuarantineTime,
        ServiceLogs = settings.ServiceLogs,
    };

    /// <summary>A CIDR (<c>10.0.0.0/8</c>) or a single address.</summary>
    public static IPNetwork ParseNetwork(string text)
    {
        if (IPNetwork.TryParse(text, out var network))
        {
            return network;
        }

        if (IPAddress.TryParse(text, out var address))
        {
            return new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
        }

        throw new FormatException($"'{text}' is not a CIDR like 10.0.0.0/8 or an IP address");
    }

    /// <summary>True when <paramref name="ip"/> falls in an allowlisted network.</summary>
    public bool IsAllowlisted(string ip)
    {
        if (!IPAddress.TryParse(ip, out var address))
        {
            return false;
        }

        address = Blocklist.Normalize(address);
        foreach (var n in Allowlist)
        {
            if (n.Contains(address))
            {
                return true;
            }
        }

        return false;
    }
}
