using Autonomic.Agents.Security.Detectors;
using Autonomic.Agents.Security.Rules;
using Autonomic.Agents.Security.Sources;
using Autonomic.Core.Security;

namespace Autonomic.Agents.Security;

/// <summary>
/// Every detector over one stream of events: signature rules (match + threshold), per-client anomaly scoring, log
/// template novelty and API key misuse. Lines are parsed by their source's format. Deterministic: the same input in the
/// same order gives the same alerts. Not thread-safe; the agent serializes calls.
/// </summary>
public sealed class SecurityPipeline
{
    private readonly Dictionary<string, SshdParser> _sshd = new(StringComparer.Ordinal);
    private readonly int _year;

    public SecurityPipeline(RulePack pack, int startYear, bool anomalies = true)
    {
        Signatures = new SignatureEngine(pack);
        _year = startYear;
        if (anomalies)
        {
            Clients = new ClientAnomalyDetector(TimeSpan.FromMinutes(1));
            Templates = new TemplateNoveltyDetector();
            Keys = new KeyMisuseDetector();
        }
    }

    public SignatureEngine Signatures { get; }
    public ClientAnomalyDetector? Clients { get; }
    public TemplateNoveltyDetector? Templates { get; }
    public KeyMisuseDetector? Keys { get; }

    /// <summary>Parses <paramref name="line"/> as <paramref name="format"/>; null when it is not of that format.</summary>
    public LogEvent? Parse(string line, string format, string origin)
    {
        switch (format)
        {
            case "sshd":
            case "syslog":
                if (!_sshd.TryGetValue(origin, out var parser))
                {
                    parser = new SshdParser(_year);
                    _sshd[origin] = parser;
                }

                var evt = parser.Parse(line, origin);
                if (evt is null && format == "syslog")
                {
                    // Not sshd: still a message for template mining, after the 15-character timestamp and host.
                    int at = line.Length > 16 ? line.IndexOf(": ", 16, StringComparison.Ordinal) : -1;
                    evt = new LogEvent { Origin = origin, Format = "text", Line = line, Message = at > 0 ? line[(at + 2)..] : line };
                }

                return evt;
            case "access":
                return AccessLogParser.Parse(line, origin);
            case "apache_error":
                return ApacheErrorParser.Parse(line, origin);
            default:
                return new LogEvent { Origin = origin, Format = "text", Line = line, Message = line };
        }
    }

    /// <summary>The event a gateway access record makes.</summary>
    public static LogEvent FromAccess(AccessEvent access) => new()
    {
        Time = access.Time,
        Origin = "gateway",
        Format = "gateway",
        Kind = LogEventKind.Request,
        SourceIp = access.ClientIp,
        KeyId = access.KeyId,
        Method = access.Method,
        Target = access.Path,
        Status = access.Status,
        UserAgent = access.UserAgent,
        Line = $"{access.ClientIp} key={access.KeyId ?? "-"} \"{access.Method} {access.Path}\" {access.Status} \"{access.UserAgent ?? "-"}\"",
    };

    /// <summary>Runs every detector on <paramref name="evt"/>; alerts are appended.</summary>
    public Classification Observe(LogEvent evt, List<SecurityAlert> alerts)
    {
        var result = Signatures.Observe(evt, alerts);
        Clients?.Observe(evt, alerts);
        if (evt.Format is "sshd" or "apache_error" or "text")
        {
            Templates?.Observe(evt, alerts);
        }

        Keys?.Observe(evt, alerts);
        return result;
    }
}
