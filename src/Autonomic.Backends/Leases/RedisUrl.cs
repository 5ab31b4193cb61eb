using System.Globalization;

namespace Autonomic.Backends.Leases;

/// <summary>
/// A parsed <c>redis://[[user]:password@]host[:port][/db][?prefix=...&amp;connectTimeout=ms]</c> URL. Port defaults to
/// 6379, database to 0, key prefix to <c>autonomic:</c>, connect timeout to 5 s. <see cref="Masked"/> is the form
/// to show in logs and errors: it never contains the password.
/// </summary>
public sealed record RedisUrl
{
    /// <summary>The key prefix used when the URL names none.</summary>
    public const string DefaultPrefix = "autonomic:";

    /// <summary>Host name or address.</summary>
    public required string Host { get; init; }

    /// <summary>TCP port.</summary>
    public int Port { get; init; } = 6379;

    /// <summary>Database number (SELECT).</summary>
    public int Database { get; init; }

    /// <summary>ACL user name, or null for the default user.</summary>
    public string? User { get; init; }

    /// <summary>Password, or null when the server has none. Never log it: use <see cref="Masked"/>.</summary>
    public string? Password { get; init; }

    /// <summary>Prefix of every key the backends write, so that several control planes can share a server.</summary>
    public string Prefix { get; init; } = DefaultPrefix;

    /// <summary>How long the first connection attempt may take before it fails.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The URL with the password replaced by <c>***</c>.</summary>
    public string Masked
    {
        get
        {
            var auth = (User, Password) switch
            {
                (null, null) => "",
                (_, null) => $"{User}@",
                _ => $"{User}:***@",
            };
            return $"redis://{auth}{Host}:{Port}/{Database}";
        }
    }

    /// <inheritdoc />
    public override string ToString() => Masked;

    /// <summary>Parses <paramref name="url"/>; the error names what is wrong without repeating a password.</summary>
    public static RedisUrl Parse(string url)
    {
        ArgumentException.ThrowIfNullOrEmpty(url);
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || !string.Equals(uri.Scheme, "redis", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException("expected a URL of the form redis://[:password@]host:port/db", nameof(url));
        }

        if (string.IsNullOrEmpty(uri.Host))
        {
            throw new ArgumentException("a redis URL needs a host, e.g. redis://127.0.0.1:6379/0", nameof(url));
        }

        string? user = null;
        string? password = null;
        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            user = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            password = colon < 0 ? null : Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            user = user.Length == 0 ? null : user;
        }

        var database = 0;
        var path = uri.AbsolutePath.Trim('/');
        if (path.Length > 0 && (!int.TryParse(path, NumberStyles.None, CultureInfo.InvariantCulture, out database) || database > 15_999))
        {
            throw new ArgumentException($"redis database '{path}' is not a database number", nameof(url));
        }

        var result = new RedisUrl
        {
            Host = uri.Host,
            Port = uri.IsDefaultPort || uri.Port < 0 ? 6379 : uri.Port,
            Database = database,
            User = user,
            Password = password,
        };
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(eq < 0 ? pair : pair[..eq]);
            var value = eq < 0 ? "" : Uri.UnescapeDataString(pair[(eq + 1)..]);
            result = name switch
            {
                "prefix" => result with { Prefix = value },
                "connectTimeout" when int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms > 0 =>
                    result with { ConnectTimeout = TimeSpan.FromMilliseconds(ms) },
                _ => throw new ArgumentException($"unknown or invalid redis URL option '{name}' (known: prefix, connectTimeout=<ms>)", nameof(url)),
            };
        }

        return result;
    }
}
