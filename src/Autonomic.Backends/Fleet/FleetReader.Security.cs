using System.Net;
using Autonomic.Core.Specs;
using YamlDotNet.RepresentationModel;

namespace Autonomic.Backends.Fleet;

internal sealed partial class FleetReader
{
    private static readonly string[] SecurityKeys =
        ["logs", "rule_dirs", "allowlist", "dry_run", "ban_time", "ban_factor", "ban_max_time", "suspend_time", "rate_limit", "rate_limit_time",
         "quarantine_time", "service_logs"];
    private static readonly string[] SecurityLogKeys = ["path", "format", "from_start"];
    private static readonly string[] SecurityLogFormats = ["sshd", "syslog", "access", "apache_error", "text"];

    /// <summary>control_plane.security: the logs to follow, rule directories, allowlist, dry-run and ban times.</summary>
    private SecuritySettings ReadSecurity(Section s)
    {
        var d = new SecuritySettings();
        var logs = new List<SecurityLogSource>();
        if (s.TryGet("logs", out YamlNode? node, out _))
        {
            if (node is not YamlSequenceNode list)
            {
                throw Fail(node, s.Field("logs"), "expected a list of {path, format}");
            }

            for (int i = 0; i < list.Children.Count; i++)
            {
                var item = Section.Of(this, list.Children[i], $"{s.Field("logs")}[{i}]", SecurityLogKeys);
                var path = item.Text("path", t => FleetValues.NonEmpty(t, "a log file path"))
                           ?? throw Fail(list.Children[i], item.Field("path"), "missing; the log file to follow");
                var format = item.Text("format", t => SecurityLogFormats.Contains(t) ? null : FleetValues.Unknown("log format", t, SecurityLogFormats)) ?? "text";
                logs.Add(new SecurityLogSource(Path.GetFullPath(path, _baseDirectory), format, item.Bool("from_start") ?? false));
            }
        }

        var allowlist = s.StringList("allowlist");
        if (allowlist is not null && s.TryGet("allowlist", out YamlNode? allowNode, out _))
        {
            for (int i = 0; i < allowlist.Count; i++)
            {
                if (!IPNetwork.TryParse(allowlist[i], out _) && !IPAddress.TryParse(allowlist[i], out _))
                {
                    throw Fail(((YamlSequenceNode)allowNode).Children[i], $"{s.Field("allowlist")}[{i}]", $"'{allowlist[i]}' is not a CIDR like 10.0.0.0/8 or an IP address");
                }
            }
        }

        return new SecuritySettings
        {
            Logs = logs,
            RuleDirectories = s.StringList("rule_dirs")?.Select(p => Path.GetFullPath(p, _baseDirectory)).ToList() ?? d.RuleDirectories,
            Allowlist = allowlist ?? d.Allowlist,
            DryRun = s.Bool("dry_run") ?? d.DryRun,
            BanTime = s.Duration("ban_time", allowZero: false) ?? d.BanTime,
            BanFactor = s.Double("ban_factor", 1, 100) ?? d.BanFactor,
            BanMaxTime = s.Duration("ban_max_time", allowZero: false) ?? d.BanMaxTime,
            SuspendTime = s.Duration("suspend_time", allowZero: false) ?? d.SuspendTime,
            RateLimit = s.Double("rate_limit", 0.01, 100_000) ?? d.RateLimit,
            RateLimitTime = s.Duration("rate_limit_time", allowZero: false) ?? d.RateLimitTime,
            QuarantineTime = s.Duration("quarantine_time", allowZero: false) ?? d.QuarantineTime,
            ServiceLogs = s.Bool("service_logs") ?? d.ServiceLogs,
        };
    }
}
