using System.Globalization;

namespace Autonomic.Backends.Fleet;

/// <summary>Parses the duration and size notations of fleet files; every method returns false rather than throwing.</summary>
public static class FleetUnits
{
    /// <summary>
    /// <c>500ms</c>, <c>2s</c>, <c>1.5m</c>, <c>1h</c>, or a bare number of seconds. Negative values are rejected.
    /// </summary>
    public static bool TryParseDuration(string text, out TimeSpan duration)
    {
        duration = default;
        string s = text.Trim();
        (string number, double scaleMs) = s switch
        {
            _ when s.EndsWith("ms", StringComparison.Ordinal) => (s[..^2], 1.0),
            _ when s.EndsWith('s') => (s[..^1], 1000.0),
            _ when s.EndsWith('m') => (s[..^1], 60_000.0),
            _ when s.EndsWith('h') => (s[..^1], 3_600_000.0),
            _ => (s, 1000.0),
        };
        if (!TryNumber(number, out double value))
        {
            return false;
        }

        double ms = value * scaleMs;
        if (ms > TimeSpan.MaxValue.TotalMilliseconds / 2)
        {
            return false;
        }

        duration = TimeSpan.FromMilliseconds(Math.Round(ms, 3));
        return true;
    }

    /// <summary>
    /// Bytes with an optional unit: binary <c>Ki Mi Gi Ti</c> (also with a trailing <c>B</c>), decimal
    /// <c>K M G T</c> (also <c>KB MB GB TB</c>), or <c>B</c>. Negative values are rejected.
    /// </summary>
    public static bool TryParseSize(string text, out long bytes)
    {
        bytes = 0;
        string s = text.Trim();
        int split = s.Length;
        while (split > 0 && char.IsLetter(s[split - 1]))
        {
            split--;
        }

        double scale = s[split..] switch
        {
            "" or "B" => 1,
            "K" or "KB" or "k" or "kB" => 1e3,
            "M" or "MB" => 1e6,
            "G" or "GB" => 1e9,
            "T" or "TB" => 1e12,
            "Ki" or "KiB" => 1L << 10,
            "Mi" or "MiB" => 1L << 20,
            "Gi" or "GiB" => 1L << 30,
            "Ti" or "TiB" => 1L << 40,
            _ => -1,
        };
        if (scale < 0 || !TryNumber(s[..split].TrimEnd(), out double value))
        {
            return false;
        }

        double result = Math.Round(value * scale);
        if (result > long.MaxValue / 2)
        {
            return false;
        }

        bytes = (long)result;
        return true;
    }

    private static bool TryNumber(string text, out double value)
    {
        value = 0;
        return text.Length > 0 && char.IsAsciiDigit(text[0])
            && double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value);
    }
}
