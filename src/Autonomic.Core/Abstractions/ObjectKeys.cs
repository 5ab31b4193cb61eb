using System.Text;

namespace Autonomic.Core.Abstractions;

/// <summary>
/// The one rule for object keys, shared by every <see cref="IObjectStore"/>: S3-style keys with '/' between
/// segments that can never name anything outside the store when mapped to a path.
/// </summary>
public static class ObjectKeys
{
    /// <summary>Longest key in UTF-8 bytes (S3's limit).</summary>
    public const int MaxBytes = 1024;

    /// <summary>Keys under this prefix are the stores' own (uploads in progress) and cannot be written by clients.</summary>
    public const string ReservedPrefix = ".autonomic-staging/";

    /// <summary>Orders keys by their UTF-8 bytes (code points), as S3 lists them.</summary>
    public static IComparer<string> Order { get; } = new Utf8Order();

    /// <summary>
    /// Throws <see cref="ArgumentException"/> unless <paramref name="key"/> is a valid key: not empty, at most
    /// 1024 UTF-8 bytes, no leading '/', no empty, '.' or '..' segment, no backslash, no control character.
    /// </summary>
    public static void Validate(string? key, string paramName = "key")
    {
        if (Problem(key) is { } reason)
        {
            throw new ArgumentException($"invalid object key {Show(key)}: {reason}", paramName);
        }
    }

    /// <summary>Why <paramref name="key"/> is invalid, or null when it is valid.</summary>
    public static string? Problem(string? key)
    {
        if (string.IsNullOrEmpty(key))
        {
            return "a key must not be empty";
        }

        if (Encoding.UTF8.GetByteCount(key) > MaxBytes)
        {
            return $"a key is at most {MaxBytes} bytes of UTF-8";
        }

        if (key.StartsWith('/'))
        {
            return "a key must not start with '/'";
        }

        foreach (char c in key)
        {
            if (c == '\\')
            {
                return "a key must not contain '\\' (use '/' between segments)";
            }

            if (char.IsControl(c))
            {
                return "a key must not contain control characters";
            }

            if (char.IsSurrogate(c) && !IsWellFormed(key))
            {
                return "a key must be valid Unicode";
            }
        }

        foreach (string segment in key.Split('/'))
        {
            switch (segment)
            {
                case "":
                    return "a key must not contain empty segments ('//' or a trailing '/')";
                case "." or "..":
                    return "a key must not contain '.' or '..' segments";
            }
        }

        return key.StartsWith(ReservedPrefix, StringComparison.Ordinal) ? $"keys under '{ReservedPrefix}' are reserved for uploads in progress" : null;
    }

    /// <summary>
    /// The content type to record: <c>application/octet-stream</c> when none is given; throws
    /// <see cref="ArgumentException"/> unless it is printable ASCII of at most 200 characters.
    /// </summary>
    public static string ContentType(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return "application/octet-stream";
        }

        if (contentType.Length > 200 || contentType.Any(c => c < 0x20 || c > 0x7E))
        {
            throw new ArgumentException("a content type is printable ASCII of at most 200 characters", nameof(contentType));
        }

        return contentType.Trim();
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="prefix"/> could start a key (empty is fine).</summary>
    public static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (prefix.Length > 0 && (prefix.StartsWith('/') || prefix.Contains('\\', StringComparison.Ordinal) || prefix.Any(char.IsControl)))
        {
            throw new ArgumentException($"invalid prefix {Show(prefix)}: a prefix must not start with '/' or contain '\\' or control characters", nameof(prefix));
        }
    }

    private static bool IsWellFormed(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(s[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static string Show(string? key) =>
        key is null ? "(null)" : "'" + (key.Length > 80 ? key[..80] + "..." : key).Replace("\0", "\\0", StringComparison.Ordinal) + "'";

    private sealed class Utf8Order : IComparer<string>
    {
        public int Compare(string? x, string? y)
        {
            if (x is null || y is null)
            {
                return x is null ? (y is null ? 0 : -1) : 1;
            }

            // UTF-16 ordinal order differs from code point order only where surrogates meet U+E000..U+FFFF.
            int n = Math.Min(x.Length, y.Length);
            for (int i = 0; i < n; i++)
            {
                char a = x[i], b = y[i];
                if (a != b)
                {
                    bool sa = char.IsSurrogate(a), sb = char.IsSurrogate(b);
                    return sa == sb ? a.CompareTo(b) : sa ? 1 : -1;
                }
            }

            return x.Length.CompareTo(y.Length);
        }
    }
}
