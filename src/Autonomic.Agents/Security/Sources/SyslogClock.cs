namespace Autonomic.Agents.Security.Sources;

/// <summary>
/// Turns syslog's year-less <c>Mmm dd HH:MM:SS</c> into a time. The first line takes <see cref="StartYear"/>; a month
/// earlier than the previous line's by more than six months means the log crossed a new year (Dec → Jan).
/// </summary>
public sealed class SyslogClock(int startYear)
{
    private int _year = startYear;
    private int _lastMonth;

    public int StartYear { get; } = startYear;


    /// <summary>Parses the 15-character timestamp at the start of <paramref name="line"/>; false when it is not one.</summary>
    public bool TryParse(ReadOnlySpan<char> line, out DateTimeOffset time, out int length)
    {
        time = default;
        length = 0;
        if (line.Length < 15 || line[3] != ' ' || line[6] != ' ' || line[9] != ':' || line[12] != ':')
        {
            return false;
        }

        int month = MonthNames.Number(line[..3]);
        int day = line[4] == ' ' ? Digit(line[5]) : Digit(line[4]) * 10 + Digit(line[5]);
        int h = Digit(line[7]) * 10 + Digit(line[8]);
        int mi = Digit(line[10]) * 10 + Digit(line[11]);
        int s = Digit(line[13]) * 10 + Digit(line[14]);
        if (month == 0 || day is < 1 or > 31 || h > 23 || mi > 59 || s > 60 || (uint)(day | h | mi | s) > 99)
        {
            return false;
        }

        if (_lastMonth != 0 && month < _lastMonth - 6)
        {
            _year++;
        }

        _lastMonth = month;
        day = Math.Min(day, DateTime.DaysInMonth(_year, month));
        time = new DateTimeOffset(_year, month, day, h, mi, Math.Min(s, 59), TimeSpan.Zero);
        length = 15;
        return true;
    }

    private static int Digit(char c) => c is >= '0' and <= '9' ? c - '0' : 1000;
}
