using System.Globalization;

namespace Autonomic.Agents.Security.Sources;

/// <summary>
/// Parses Apache/nginx access log lines in the common and combined formats
/// (<c>ip ident user [dd/Mon/yyyy:HH:mm:ss +zzzz] "METHOD target PROTO" status bytes "referer" "agent"</c>) without
/// regular expressions. Tolerates CRLF endings and a line wrapped in an extra pair of double quotes.
/// </summary>
public static class AccessLogParser
{
    /// <summary>Parses one line; null when it is not an access log line.</summary>
    public static LogEvent? Parse(string line, string origin = "access")
    {
        var s = line.AsSpan().TrimEnd("\r\n");
        if (s.Length > 2 && s[0] == '"' && s[^1] == '"')
        {
            s = s[1..^1];
        }

        int sp = s.IndexOf(' ');
        if (sp <= 0)
        {
            return null;
        }

        var ip = s[..sp];
        int lb = s.IndexOf('[');
        if (lb < 0)
        {
            return null;
        }

        int rb = s[lb..].IndexOf(']');
        if (rb < 0 || !TryParseTime(s.Slice(lb + 1, rb - 1), out var time))
        {
            return null;
        }

        var rest = s[(lb + rb + 1)..].TrimStart();
        if (rest.Length == 0 || rest[0] != '"')
        {
            return null;
        }

        rest = rest[1..];
        // The request ends at the quote followed by " NNN" (the status): payloads may hold quotes of their own.
        int q = -1;
        for (int from = 0; ;)
        {
            int next = rest[from..].IndexOf('"');
            if (next < 0)
            {
                return null;
            }

            next += from;
            var after = rest[(next + 1)..];
            if (after.Length >= 4 && after[0] == ' ' && char.IsAsciiDigit(after[1]) && char.IsAsciiDigit(after[2]) && char.IsAsciiDigit(after[3]) && (after.Length == 4 || after[4] == ' '))
            {
                q = next;
                break;
            }

            from = next + 1;
        }

        var request = rest[..q];
        rest = rest[(q + 1)..].TrimStart();
        int sp1 = rest.IndexOf(' ');
        var statusText = sp1 < 0 ? rest : rest[..sp1];
        if (!int.TryParse(statusText, NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            return null;
        }

        long bytes = 0;
        string? agent = null;
        if (sp1 >= 0)
        {
            rest = rest[(sp1 + 1)..];
            int sp2 = rest.IndexOf(' ');
            var bytesText = sp2 < 0 ? rest : rest[..sp2];
            long.TryParse(bytesText, NumberStyles.None, CultureInfo.InvariantCulture, out bytes);
            if (sp2 >= 0)
            {
                // Combined: "referer" "agent" — the agent is the last quoted field.
                var tail = rest[(sp2 + 1)..].TrimEnd();
                if (tail.Length >= 2 && tail[^1] == '"')
                {
                    int open = tail[..^1].LastIndexOf("\" \"");
                    if (open >= 0)
                    {
                        agent = tail[(open + 3)..^1].ToString();
                    }
                }
            }
        }

        string? method = null;
        string target;
        int r1 = request.IndexOf(' ');
        if (r1 > 0)
        {
            method = request[..r1].ToString();
            var after = request[(r1 + 1)..];
            int r2 = after.LastIndexOf(' ');
            target = (r2 > 0 && after[(r2 + 1)..].StartsWith("HTTP") ? after[..r2] : after).ToString();
        }
        else
        {
            target = request.ToString();
        }

        return new LogEvent
        {
            Time = time,
            Origin = origin,
            Format = "access",
            Kind = LogEventKind.Request,
            SourceIp = ip.ToString(),
            Method = method,
            Target = target,
            Status = status,
            Bytes = bytes,
            UserAgent = agent,
            Line = line,
        };
    }


    /// <summary>dd/Mon/yyyy:HH:mm:ss +zzzz</summary>
    internal static bool TryParseTime(ReadOnlySpan<char> t, out DateTimeOffset time)
    {
        time = default;
        if (t.Length < 20 || t[2] != '/' || t[6] != '/' || t[11] != ':')
        {
            return false;
        }

        int month = MonthNames.Number(t.Slice(3, 3));
        if (month == 0 ||
            !int.TryParse(t[..2], NumberStyles.None, CultureInfo.InvariantCulture, out var day) ||
            !int.TryParse(t.Slice(7, 4), NumberStyles.None, CultureInfo.InvariantCulture, out var year) ||
            !int.TryParse(t.Slice(12, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var h) ||
            !int.TryParse(t.Slice(15, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var m) ||
            !int.TryParse(t.Slice(18, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var sec))
        {
            return false;
        }

        var offset = TimeSpan.Zero;
        if (t.Length >= 26 && (t[21] == '+' || t[21] == '-') &&
            int.TryParse(t.Slice(22, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var oh) &&
            int.TryParse(t.Slice(24, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var om))
        {
            offset = new TimeSpan(oh, om, 0) * (t[21] == '-' ? -1 : 1);
        }

        if (year is < 1 or > 9999 || day < 1 || day > DateTime.DaysInMonth(year, month) || h > 23 || m > 59 || sec > 60 || offset.Duration() > TimeSpan.FromHours(14))
        {
            return false;
        }

        time = new DateTimeOffset(year, month, day, h, m, Math.Min(sec, 59), offset);
        return true;
    }
}
