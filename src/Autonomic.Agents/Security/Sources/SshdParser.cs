using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Autonomic.Agents.Security.Sources;

/// <summary>
/// Parses OpenSSH syslog lines (<c>Mmm dd HH:MM:SS host sshd[pid]: message</c>, as in /var/log/auth.log) into
/// <see cref="LogEvent"/>s. It counts as <see cref="LogEventKind.AuthFailure"/> the same messages fail2ban's
/// <c>sshd</c> filter counts in its normal mode (failed passwords, invalid users, PAM authentication failures reported
/// by sshd, users not allowed, root login refused, "Auth fail" disconnects, too many authentication attempts), with
/// patterns of its own. Like fail2ban it remembers each sshd process's client address, so a later line of the same
/// session without an address (<c>Disconnecting: Too many authentication failures</c>) is attributed to it. Unlike
/// fail2ban it also counts <c>message repeated N times: [ ... ]</c> N times. Not thread-safe: one parser per source.
/// </summary>
public sealed partial class SshdParser(int startYear)
{
    private const int MaxSessions = 4096;
    private readonly SyslogClock _clock = new(startYear);
    private readonly Dictionary<int, string> _sessionIp = [];

    // Our own expression of the failure messages fail2ban's sshd filter (normal mode) counts. SUFFIX: optional
    // " port N", " on X", " [preauth]" tails.
    private const string Ip = @"(?<ip>\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]*:[0-9A-Fa-f:.]+)";
    private const string Suffix = @"(?: (?:port \d+|on \S+|\[preauth\])){0,3}\s*$";
    private const string PortOpt = @"(?: (?:port \d+|on \S+)){0,2}";

    [GeneratedRegex(
        "^(?:" +
        @"[aA]uthentication (?:failure|error|failed) for (?<user>.*) from " + Ip + @"(?: via \S+)?" + Suffix +
        @"|User not known to the underlying authentication module for (?<user>.*) from " + Ip + Suffix +
        @"|Failed (?<method>\S+) for (?<inv>invalid user )?(?<user>.*?) from " + Ip + PortOpt + @"(?: ssh\d*)?(?:: .*|(?:(?! from ).)*)$" +
        @"|ROOT LOGIN REFUSED FROM " + Ip +
        @"|[iI](?:llegal|nvalid) user (?<user>.*?) from " + Ip + Suffix +
        @"|User (?<user>\S+|.*?) from " + Ip + @" not allowed because (?:not listed in AllowUsers|listed in DenyUsers|not in any group|a group is listed in DenyGroups|none of user's groups are listed in AllowGroups)" + Suffix +
        @"|refused connect from \S+ \(" + Ip + @"\)" +
        @"|Received disconnect from " + Ip + PortOpt + @":\s*3: .*: Auth fail" + Suffix +
        @"|maximum authentication attempts exceeded for (?<user>.*) from " + Ip + PortOpt + @"(?: ssh\d*)?" + Suffix +
        ")", RegexOptions.CultureInvariant)]
    private static partial Regex Failure();

    [GeneratedRegex(@"^Accepted \S+ for (?<user>\S+) from " + Ip, RegexOptions.CultureInvariant)]
    private static partial Regex Accepted();

    [GeneratedRegex(@"\bfrom " + Ip + @"(?: |$)|rhost=" + Ip + "|\\[" + Ip + "\\]", RegexOptions.CultureInvariant)]
    private static partial Regex AnyAddress();

    /// <summary>Parses one line; null when it is not an sshd syslog line.</summary>
    public LogEvent? Parse(string line, string origin = "sshd")
    {
        var span = line.AsSpan();
        if (!_clock.TryParse(span, out var time, out var at))
        {
            return null;
        }

        // " host program[pid]: message"
        int hostEnd = span[(at + 1)..].IndexOf(' ');
        if (hostEnd < 0)
        {
            return null;
        }

        int progStart = at + 1 + hostEnd + 1;
        var rest = span[progStart..];
        if (!rest.StartsWith("sshd"))
        {
            return null;
        }

        int colon = rest.IndexOf(": ");
        if (colon < 0)
        {
            return null;
        }

        int pid = -1;
        var prog = rest[..colon];
        int lb = prog.IndexOf('[');
        if (lb >= 0 && prog[^1] == ']')
        {
            int.TryParse(prog[(lb + 1)..^1], NumberStyles.None, CultureInfo.InvariantCulture, out pid);
        }

        // "sshd(pam_unix)[pid]" is PAM reporting for sshd, which fail2ban's sshd filter does not count.
        bool pamProgram = prog.Length > 4 && prog[4] == '(';
        var message = rest[(colon + 2)..];
        var evt = new LogEvent { Time = time, Origin = origin, Format = "sshd", Line = line, Message = message.ToString() };
        if (pamProgram)
        {
            return evt;
        }

        if (message.StartsWith("message repeated "))
        {
            int open = message.IndexOf("times: [");
            if (open > 0 && int.TryParse(message["message repeated ".Length..open].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && message[^1] == ']')
            {
                evt.Count = Math.Max(1, n);
                message = message[(open + "times: [".Length)..^1].TrimStart();
            }
        }

        if (message.StartsWith("error: ") || message.StartsWith("fatal: "))
        {
            message = message[7..];
            if (message.StartsWith("PAM: "))
            {
                message = message[5..];
            }
        }

        Classify(evt, message.ToString(), pid);
        return evt;
    }

    private void Classify(LogEvent evt, string message, int pid)
    {
        if (message.StartsWith("Disconnecting: Too many authentication failures", StringComparison.Ordinal))
        {
            // No address in the line: the session's earlier lines gave it.
            if (pid >= 0 && _sessionIp.TryGetValue(pid, out var known))
            {
                evt.SourceIp = known;
                evt.Kind = LogEventKind.AuthFailure;
            }

            return;
        }

        bool hasFrom = message.Contains(" from ", StringComparison.Ordinal) || message.Contains(" FROM ", StringComparison.Ordinal);
        if (hasFrom || message.StartsWith("refused connect", StringComparison.Ordinal))
        {
            var m = Failure().Match(message);
            if (m.Success && IsAddress(m.Groups["ip"].Value))
            {
                bool publicKey = m.Groups["method"].Success && m.Groups["method"].ValueSpan.SequenceEqual("publickey");
                evt.SourceIp = m.Groups["ip"].Value;
                evt.User = m.Groups["user"].Success ? m.Groups["user"].Value : null;
                // A failed public key is a normal step of key negotiation, except for a user that does not exist.
                if (!publicKey || m.Groups["inv"].Success)
                {
                    evt.Kind = LogEventKind.AuthFailure;
                }

                if (m.Groups["inv"].Success || message.StartsWith("Invalid user", StringComparison.Ordinal) || message.StartsWith("Illegal user", StringComparison.Ordinal) || message.StartsWith("invalid user", StringComparison.Ordinal))
                {
                    evt.Kind |= LogEventKind.InvalidUser;
                }

                Remember(pid, evt.SourceIp);
                return;
            }

            var a = Accepted().Match(message);
            if (a.Success)
            {
                evt.Kind = LogEventKind.AuthSuccess;
                evt.SourceIp = a.Groups["ip"].Value;
                evt.User = a.Groups["user"].Value;
                Remember(pid, evt.SourceIp);
                return;
            }
        }

        if (message.Contains("from ", StringComparison.Ordinal) || message.Contains("rhost=", StringComparison.Ordinal) || message.Contains('['))
        {
            var any = AnyAddress().Match(message);
            if (any.Success)
            {
                var ip = any.Groups["ip"].Value;
                if (IsAddress(ip))
                {
                    evt.SourceIp = ip;
                    Remember(pid, ip);
                }
            }
        }
    }

    private void Remember(int pid, string ip)
    {
        if (pid < 0)
        {
            return;
        }

        if (_sessionIp.Count >= MaxSessions && !_sessionIp.ContainsKey(pid))
        {
            _sessionIp.Clear();
        }

        _sessionIp[pid] = ip;
    }

    private static bool IsAddress(string text) => IPAddress.TryParse(text, out _);
}
