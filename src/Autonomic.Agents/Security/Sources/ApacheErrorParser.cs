using System.Globalization;

namespace Autonomic.Agents.Security.Sources;

/// <summary>
/// Parses Apache error log lines: <c>[Sun Dec 04 04:47:44 2005] [error] [client 1.2.3.4] message</c> (2.2) and
/// <c>[Sun Dec 04 04:47:44.123456 2005] [core:error] [pid 1] [client 1.2.3.4:5678] message</c> (2.4).
/// </summary>
public static class ApacheErrorParser
{

    /// <summary>Parses one line; null when it is not an error log line.</summary>
    public static LogEvent? Parse(string line, string origin = "apache_error")
    {
        var s = line.AsSpan().TrimEnd("\r\n");
        if (s.Length < 26 || s[0] != '[')
        {
            return null;
        }

        int close = s.IndexOf(']');
        if (close < 0 || !TryParseTime(s[1..close], out var time))
        {
            return null;
        }

        var rest = s[(close + 1)..].TrimStart();
        string? level = null;
        string? client = null;
        while (rest.Length > 0 && rest[0] == '[')
        {
            int end = rest.IndexOf(']');
            if (end < 0)
            {
                break;
            }

            var field = rest[1..end];
            if (field.StartsWith("client "))
            {
                var addr = field[7..];
                // 2.4 writes ip:port; an IPv6 address has several colons and no port suffix of this form.
                int c = addr.LastIndexOf(':');
                if (c > 0 && addr.IndexOf(':') == c)
                {
                    addr = addr[..c];
                }

                client = addr.ToString();
            }
            else if (level is null && !field.StartsWith("pid "))
            {
                int colon = field.IndexOf(':');
                level = (colon >= 0 ? field[(colon + 1)..] : field).ToString();
            }

            rest = rest[(end + 1)..].TrimStart();
        }

        return new LogEvent
        {
            Time = time,
            Origin = origin,
            Format = "apache_error",
            Kind = level is "error" or "crit" or "alert" or "emerg" ? LogEventKind.Error : LogEventKind.None,
            SourceIp = client,
            Message = rest.ToString(),
            Line = line,
        };
    }

    /// <summary>Www Mmm dd HH:mm:ss[.ffffff] yyyy</summary>
    private static bool TryParseTime(ReadOnlySpan<char> t, out DateTimeOffset time)
    {
        time = default;
        if (t.Length < 24 || t[3] != ' ' || t[7] != ' ' || t[13] != ':' || t[16] != ':')
        {
            return false;
        }

        int month = MonthNames.Number(t.Slice(4, 3));
        int yearAt = t.LastIndexOf(' ') + 1;
        if (month == 0 ||
            !int.TryParse(t.Slice(8, 2).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var day) ||
            !int.TryParse(t.Slice(11, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var h) ||
            !int.TryParse(t.Slice(14, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var m) ||
            !int.TryParse(t.Slice(17, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var sec) ||
            !int.TryParse(t[yearAt..], NumberStyles.None, CultureInfo.InvariantCulture, out var year) ||
            year is < 1 or > 9999 || day < 1 || day > DateTime.DaysInMonth(year, month) || h > 23 || m > 59 || sec > 60)
        {
            return false;
        }

        time = new DateTimeOffset(year, month, day, h, m, Math.Min(sec, 59), TimeSpan.Zero);
        return true;
    }
}
