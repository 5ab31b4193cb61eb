using System.Globalization;

namespace Autonomic.Backends.Fleet;

/// <summary>
/// Checks of single values shared by the file walker and the environment overrides. Each returns null when the
/// text is valid, else the reason (without location), so both callers can add where the value came from.
/// </summary>
internal static class FleetValues
{
    public static string? Integer(string text, long min, long max, out long value)
    {
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
        {
            return $"expected an integer from {min} to {max}, got {Quote(text)}";
        }

        return value < min || value > max ? $"expected an integer from {min} to {max}, got {value}" : null;
    }

    public static string? Number(string text, double min, double max, out double value)
    {
        if (!double.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value))
        {
            return $"expected a number from {Show(min)} to {Show(max)}, got {Quote(text)}";
        }

        return value < min || value > max ? $"expected a number from {Show(min)} to {Show(max)}, got {Show(value)}" : null;
    }

    public static string? Duration(string text, bool allowZero, out TimeSpan value)
    {
        if (!FleetUnits.TryParseDuration(text, out value))
        {
            return $"expected a duration like 500ms, 2s or 1m, got {Quote(text)}";
        }

        return !allowZero && value <= TimeSpan.Zero ? $"expected a duration greater than 0, got {Quote(text)}" : null;
    }

    public static string? Size(string text, out long value)
    {
        if (!FleetUnits.TryParseSize(text, out value))
        {
            return $"expected a size like 256Mi, 1Gi, 512M or a number of bytes, got {Quote(text)}";
        }

        return value <= 0 ? $"expected a size greater than 0, got {Quote(text)}" : null;
    }

    /// <summary>YAML 1.2 booleans; the environment also accepts 1/0 and yes/no, as shells commonly use them.</summary>
    public static string? Boolean(string text, bool lenient, out bool value)
    {
        switch (text)
        {
            case "true" or "True" or "TRUE":
                value = true;
                return null;
            case "false" or "False" or "FALSE":
                value = false;
                return null;
        }

        if (lenient)
        {
            switch (text.ToLowerInvariant())
            {
                case "1" or "yes" or "on":
                    value = true;
                    return null;
                case "0" or "no" or "off" or "":
                    value = false;
                    return null;
            }
        }

        value = false;
        return $"expected true or false, got {Quote(text)}";
    }

    public static string? HttpUrl(string text)
    {
        bool ok = Uri.TryCreate(text, UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);
        return ok ? null : $"expected an http URL like http://127.0.0.1:7411, got {Quote(text)}";
    }

    public static string? NonEmpty(string text, string example) =>
        string.IsNullOrWhiteSpace(text) ? $"expected {example}, got an empty string" : null;

    /// <summary>The allowed word closest to <paramref name="word"/> by edit distance, if it is close enough to be a typo.</summary>
    public static string? Suggest(string word, IEnumerable<string> allowed)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (string candidate in allowed)
        {
            int d = EditDistance(word.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (d < bestDistance)
            {
                best = candidate;
                bestDistance = d;
            }
        }

        return bestDistance <= Math.Max(2, word.Length / 3) ? best : null;
    }

    /// <summary>A reason for an unknown word, with a did-you-mean when one of <paramref name="allowed"/> is close.</summary>
    public static string Unknown(string what, string word, IReadOnlyCollection<string> allowed) =>
        Suggest(word, allowed) is { } near
            ? $"unknown {what} {Quote(word)}; did you mean {Quote(near)}?"
            : $"unknown {what} {Quote(word)}; expected one of: {string.Join(", ", allowed)}";

    public static int EditDistance(string a, string b)
    {
        int[] previous = new int[b.Length + 1];
        int[] current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j] + 1, current[j - 1] + 1));
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    public static string Quote(string text) => "\"" + text.Replace("\"", "\\\"") + "\"";

    public static string Show(double value) => value.ToString(CultureInfo.InvariantCulture);
}
