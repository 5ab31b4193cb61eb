using System.Text.RegularExpressions;
using Npgsql;

namespace Autonomic.Backends.Store.Postgres;

/// <summary>
/// Store URLs of the form <c>postgres://USER:PASSWORD@HOST:PORT/DATABASE?key=value</c> (also <c>postgresql://</c>):
/// converted to an Npgsql connection string, and masked for display so that a password is never printed or logged.
/// Query keys are Npgsql connection-string keywords (e.g. <c>?Maximum Pool Size=50</c> or <c>?sslmode=require</c>).
/// </summary>
public static partial class PostgresUrl
{
    /// <summary>The URL schemes (without <c>://</c>) taken as PostgreSQL.</summary>
    public static readonly IReadOnlyList<string> Schemes = ["postgres", "postgresql"];

    /// <summary>The port when the URL names none.</summary>
    public const int DefaultPort = 5432;

    /// <summary>Whether <paramref name="url"/> names a PostgreSQL store.</summary>
    public static bool IsPostgres(string url) =>
        Schemes.Any(s => url.StartsWith(s + "://", StringComparison.OrdinalIgnoreCase));

    /// <summary>The Npgsql connection string for <paramref name="url"/>.</summary>
    /// <exception cref="ArgumentException">Not a PostgreSQL URL, or one without host or database, or with an unknown key.
    /// The message never contains the password.</exception>
    public static NpgsqlConnectionStringBuilder Parse(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        if (!IsPostgres(url) || !Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            throw new ArgumentException(
                $"A PostgreSQL store needs a URL like 'postgres://user:password@host:5432/database', not '{Mask(url)}'.", nameof(url));
        }

        var host = uri.Host.Trim('[', ']');
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (host.Length == 0 || database.Length == 0 || database.Contains('/', StringComparison.Ordinal))
        {
            throw new ArgumentException(
                $"The PostgreSQL store URL '{Mask(url)}' must name a host and one database: 'postgres://user:password@host:5432/database'.", nameof(url));
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = host,
            Port = uri.IsDefaultPort || uri.Port < 0 ? DefaultPort : uri.Port,
            Database = database,
            Pooling = true,
        };
        var (user, password) = UserInfo(uri);
        if (user is not null)
        {
            builder.Username = user;
        }

        if (password is not null)
        {
            builder.Password = password;
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            try
            {
                builder[key] = value;
            }
            catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException)
            {
                throw new ArgumentException($"The PostgreSQL store URL '{Mask(url)}' has an unknown or invalid option '{key}'.", nameof(url), e);
            }
        }

        return builder;
    }

    /// <summary>
    /// <paramref name="url"/> with its password (in the user info or as a <c>password=</c> option) replaced by
    /// <c>***</c>, for messages and logs.
    /// </summary>
    public static string Mask(string url)
    {
        ArgumentNullException.ThrowIfNull(url);
        url = PasswordOption().Replace(url, "$1***");
        var schemeEnd = url.IndexOf("://", StringComparison.Ordinal);
        if (schemeEnd < 0)
        {
            return url.Contains('@', StringComparison.Ordinal) ? "***" : url;
        }

        var authorityStart = schemeEnd + 3;
        var authorityEnd = url.IndexOfAny(['/', '?', '#'], authorityStart);
        var authority = authorityEnd < 0 ? url[authorityStart..] : url[authorityStart..authorityEnd];
        var at = authority.LastIndexOf('@');
        if (at < 0)
        {
            return url;
        }

        var userInfo = authority[..at];
        var colon = userInfo.IndexOf(':', StringComparison.Ordinal);
        var masked = colon < 0 ? userInfo : userInfo[..colon] + ":***";
        return url[..authorityStart] + masked + authority[at..] + (authorityEnd < 0 ? "" : url[authorityEnd..]);
    }

    [GeneratedRegex(@"([?&](?:password|pwd)=)[^&#]*", RegexOptions.IgnoreCase)]
    private static partial Regex PasswordOption();

    private static (string? User, string? Password) UserInfo(Uri uri)
    {
        if (uri.UserInfo.Length == 0)
        {
            return (null, null);
        }

        var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
        return colon < 0
            ? (Uri.UnescapeDataString(uri.UserInfo), null)
            : (Uri.UnescapeDataString(uri.UserInfo[..colon]), Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]));
    }
}
