using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Autonomic.Gateway.Auth;

/// <summary>Roles of API keys. They nest: an admin may do what an operator may, an operator what a viewer may.</summary>
public static class ApiRoles
{
    public const string Viewer = "viewer";
    public const string Operator = "operator";
    public const string Admin = "admin";

    public static readonly IReadOnlyList<string> All = [Viewer, Operator, Admin];

    /// <summary>The rank of a role (viewer 1, operator 2, admin 3), 0 for anything else.</summary>
    public static int Rank(string? role) => role switch
    {
        Viewer => 1,
        Operator => 2,
        Admin => 3,
        _ => 0,
    };
}

/// <summary>
/// An API key as stored in the <c>api_keys</c> collection. The secret itself is never stored: only its SHA-256
/// (<see cref="SecretHash"/>, hex); the full key is shown once, when it is created.
/// </summary>
public sealed record ApiKeyRecord
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    /// <summary>viewer, operator or admin.</summary>
    public required string Role { get; init; }
    public required string SecretHash { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>The key that created this one (its id), or <c>bootstrap</c>.</summary>
    public string? CreatedBy { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }
    /// <summary>Approximate: written at most every few seconds.</summary>
    public DateTimeOffset? LastUsedAt { get; init; }
    /// <summary>Requests per second refilled into the key's bucket; 0 means no limit.</summary>
    public int RatePerSecond { get; init; }
    /// <summary>Requests the key may make at once when its bucket is full.</summary>
    public int Burst { get; init; }

    public bool Revoked => RevokedAt is not null;
}

/// <summary>What the API shows of a key: everything but the hash of its secret.</summary>
public sealed record ApiKeyView(string Id, string Name, string Role, DateTimeOffset CreatedAt, string? CreatedBy, DateTimeOffset? RevokedAt, DateTimeOffset? LastUsedAt, int RatePerSecond, int Burst)
{
    public static ApiKeyView Of(ApiKeyRecord r) => new(r.Id, r.Name, r.Role, r.CreatedAt, r.CreatedBy, r.RevokedAt, r.LastUsedAt, r.RatePerSecond, r.Burst);
}

/// <summary>The body of <c>POST /api/v1/keys</c>. <see cref="Rate"/> is requests per second (0: no limit).</summary>
public sealed record CreateKeyRequest(string? Name, string? Role, int? Rate = null, int? Burst = null);

/// <summary>The answer to <c>POST /api/v1/keys</c>: the key, shown this one time only, and its record.</summary>
public sealed record CreatedApiKey(string Key, ApiKeyView Info);

/// <summary>The text form of a key, <c>ak_ID_SECRET</c>, and its hashing.</summary>
public static partial class ApiKeyFormat
{
    /// <summary>Largest accepted key text; anything longer is not a key (and is not hashed).</summary>
    public const int MaxLength = 300;

    /// <summary>A fresh key: a 12-character id and 32 random bytes of secret (base64url, 43 characters).</summary>
    public static (string Id, string Secret, string Key) Generate()
    {
        Span<byte> idBytes = stackalloc byte[6];
        RandomNumberGenerator.Fill(idBytes);
        var id = Convert.ToHexStringLower(idBytes);
        Span<byte> secretBytes = stackalloc byte[32];
        RandomNumberGenerator.Fill(secretBytes);
        var secret = Base64Url.EncodeToString(secretBytes);
        return (id, secret, $"ak_{id}_{secret}");
    }

    /// <summary>Splits <c>ak_ID_SECRET</c>; false for anything else.</summary>
    public static bool TryParse(ReadOnlySpan<char> key, out string id, out ReadOnlySpan<char> secret)
    {
        id = "";
        secret = default;
        if (key.Length > MaxLength || !key.StartsWith("ak_", StringComparison.Ordinal))
        {
            return false;
        }

        var rest = key[3..];
        var cut = rest.IndexOf('_');
        if (cut is < 1 or > 32 || rest.Length - cut - 1 < 32)
        {
            return false;
        }

        foreach (var c in rest[..cut])
        {
            if (!char.IsAsciiLetterLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        foreach (var c in rest[(cut + 1)..])
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not ('-' or '_'))
            {
                return false;
            }
        }

        id = rest[..cut].ToString();
        secret = rest[(cut + 1)..];
        return true;
    }

    /// <summary>What the store keeps of a secret: lowercase hex SHA-256 of its UTF-8 bytes.</summary>
    public static string Hash(ReadOnlySpan<char> secret) => Convert.ToHexStringLower(HashBytes(secret));

    /// <summary>True when <paramref name="secret"/> hashes to <paramref name="storedHash"/>, compared in constant time.</summary>
    public static bool Matches(ReadOnlySpan<char> secret, string storedHash)
    {
        Span<byte> stored = stackalloc byte[32];
        if (storedHash.Length != 64 || Convert.FromHexString(storedHash, stored, out _, out var written) != System.Buffers.OperationStatus.Done || written != 32)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(HashBytes(secret), stored);
    }

    private static byte[] HashBytes(ReadOnlySpan<char> secret)
    {
        Span<byte> utf8 = stackalloc byte[Encoding.UTF8.GetMaxByteCount(MaxLength)];
        var n = Encoding.UTF8.GetBytes(secret, utf8);
        return SHA256.HashData(utf8[..n]);
    }

    /// <summary>Key names: 1 to 64 letters, digits, spaces and <c>._-@</c>.</summary>
    [GeneratedRegex(@"^[A-Za-z0-9._@ -]{1,64}$")]
    public static partial Regex Name();
}
