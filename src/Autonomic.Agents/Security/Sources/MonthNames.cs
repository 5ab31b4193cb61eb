namespace Autonomic.Agents.Security.Sources;

/// <summary>English three-letter month names as they appear in syslog, Apache and nginx timestamps.</summary>
internal static class MonthNames
{
    /// <summary>1 for <c>Jan</c> to 12 for <c>Dec</c>; 0 for anything else.</summary>
    public static int Number(ReadOnlySpan<char> m) => m switch
    {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => 0,
    };
}
