using System.Collections.Concurrent;
using System.Security.Claims;
using System.Text.Json;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Logging;

namespace Autonomic.Gateway.Auth;

/// <summary>A key operation was refused; <see cref="Status"/> is the HTTP status that says why.</summary>
public sealed class ApiKeyException(int status, string title, string message) : Exception(message)
{
    public int Status { get; } = status;
    public string Title { get; } = title;
}

/// <summary>
/// API keys in the <see cref="IDocumentStore"/> collection <c>api_keys</c>, with an in-memory cache in front so that
/// checking a key costs one dictionary lookup and one SHA-256 per request. A cached entry lives
/// <see cref="GatewayOptions.KeyCacheTtl"/>; a revocation through this process takes effect at once.
/// </summary>
public sealed partial class ApiKeyStore(IServiceProvider services, GatewayOptions options, TimeProvider time, ILogger<ApiKeyStore> logger)
{
    // Resolved on first use, so that a gateway with auth "none" needs no document store.
    private IDocumentStore documents => field ??= services.GetService(typeof(IDocumentStore)) as IDocumentStore
        ?? throw new InvalidOperationException("API keys need a document store: register an IDocumentStore, or run with auth 'none'");

    public const string Collection = "api_keys";
    private const int MaxKeys = 10_000;
    // Unknown ids are cached too, so that garbage keys do not reach the store; the cache is bounded.
    private const int MaxCacheEntries = 50_000;
    private static readonly TimeSpan LastUsedResolution = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, CacheEntry> cache = new(StringComparer.Ordinal);

    /// <summary>A key as the authentication handler needs it, with its ready-made ticket.</summary>
    internal sealed class CacheEntry(ApiKeyRecord? record, long expires, AuthenticationTicket? ticket)
    {
        public ApiKeyRecord? Record { get; } = record;
        public long Expires { get; } = expires;
        public AuthenticationTicket? Ticket { get; } = ticket;
        /// <summary>Unix milliseconds of the last successful use not yet written to the store.</summary>
        public long PendingLastUse;
    }

    /// <summary>The key named by <paramref name="presented"/> if it exists, is not revoked and its secret matches; else null.</summary>
    internal async ValueTask<CacheEntry?> VerifyAsync(string presented, CancellationToken cancellationToken)
    {
        if (!ApiKeyFormat.TryParse(presented, out var id, out _))
        {
            return null;
        }

        var now = time.GetTimestamp();
        if (!cache.TryGetValue(id, out var entry) || time.GetElapsedTime(entry.Expires, now) > TimeSpan.Zero)
        {
            entry = await LoadAsync(id, cancellationToken).ConfigureAwait(false);
        }

        if (entry.Record is not { Revoked: false } record || !SecretMatches(presented, record.SecretHash))
        {
            return null;
        }

        var ms = time.GetUtcNow().ToUnixTimeMilliseconds();
        if (ms - Volatile.Read(ref entry.PendingLastUse) >= LastUsedResolution.TotalMilliseconds)
        {
            Volatile.Write(ref entry.PendingLastUse, ms);
        }

        return entry;
    }

    private static bool SecretMatches(string presented, string hash) =>
        ApiKeyFormat.TryParse(presented, out _, out var secret) && ApiKeyFormat.Matches(secret, hash);

    private async Task<CacheEntry> LoadAsync(string id, CancellationToken cancellationToken)
    {
        var doc = await documents.GetDocumentAsync(Collection, id, cancellationToken).ConfigureAwait(false);
        var record = doc is null ? null : JsonSerializer.Deserialize<ApiKeyRecord>(doc.Json, JsonDefaults.Options);
        var expires = time.GetTimestamp() + (long)(options.KeyCacheTtl.TotalSeconds * time.TimestampFrequency);
        var entry = new CacheEntry(record, expires, record is null ? null : Ticket(record));
        if (cache.Count >= MaxCacheEntries)
        {
            cache.Clear();
        }

        if (cache.TryGetValue(id, out var old))
        {
            entry.PendingLastUse = Volatile.Read(ref old.PendingLastUse);
        }

        cache[id] = entry;
        return entry;
    }

    private static AuthenticationTicket Ticket(ApiKeyRecord record)
    {
        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.NameIdentifier, record.Id), new Claim(ClaimTypes.Name, record.Name), new Claim(ClaimTypes.Role, record.Role)],
            ApiKeyAuthenticationHandler.SchemeName, ClaimTypes.Name, ClaimTypes.Role);
        return new AuthenticationTicket(new ClaimsPrincipal(identity), ApiKeyAuthenticationHandler.SchemeName);
    }

    /// <summary>Creates a key and returns it with its secret (the only time the secret is known).</summary>
    public async Task<CreatedApiKey> CreateAsync(string name, string role, int? rate, int? burst, string createdBy, CancellationToken cancellationToken = default)
    {
        var (id, secret, key) = ApiKeyFormat.Generate();
        var record = await StoreAsync(id, ApiKeyFormat.Hash(secret), name, role, rate, burst, createdBy, cancellationToken).ConfigureAwait(false);
        return new CreatedApiKey(key, ApiKeyView.Of(record));
    }

    /// <summary>Stores a key whose text is given (the bootstrap key); false when its id is already stored.</summary>
    public async Task<bool> ImportAsync(string key, string name, string role, CancellationToken cancellationToken = default)
    {
        if (!ApiKeyFormat.TryParse(key, out var id, out var secretSpan))
        {
            throw new ArgumentException("an API key looks like ak_ID_SECRET: ID is 1-32 lowercase letters and digits, SECRET at least 32 letters, digits, '-' or '_'", nameof(key));
        }

        var hash = ApiKeyFormat.Hash(secretSpan);

        if (await documents.GetDocumentAsync(Collection, id, cancellationToken).ConfigureAwait(false) is not null)
        {
            return false;
        }

        await StoreAsync(id, hash, name, role, null, null, "bootstrap", cancellationToken).ConfigureAwait(false);
        return true;
    }

    private async Task<ApiKeyRecord> StoreAsync(string id, string hash, string name, string role, int? rate, int? burst, string createdBy, CancellationToken cancellationToken)
    {
        var perSecond = rate ?? options.DefaultKeyRate;
        var record = new ApiKeyRecord
        {
            Id = id,
            Name = name,
            Role = role,
            SecretHash = hash,
            CreatedAt = time.GetUtcNow(),
            CreatedBy = createdBy,
            RatePerSecond = perSecond,
            Burst = burst ?? Math.Max(1, perSecond * 2),
        };
        var version = await documents.PutDocumentAsync(Collection, id, JsonSerializer.Serialize(record, JsonDefaults.Options), 0, cancellationToken).ConfigureAwait(false);
        if (version is null)
        {
            // 48 random bits make this practically impossible; say so rather than overwrite a key.
            throw new ApiKeyException(409, "key id taken", $"a key with id {id} exists already; try again");
        }

        cache.TryRemove(id, out _);
        return record;
    }

    /// <summary>Every key, newest first (at most 10,000).</summary>
    public async Task<IReadOnlyList<ApiKeyRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        var docs = await documents.ListDocumentsAsync(Collection, MaxKeys, cancellationToken).ConfigureAwait(false);
        return docs.Select(d => JsonSerializer.Deserialize<ApiKeyRecord>(d.Json, JsonDefaults.Options)!)
            .OrderByDescending(k => k.CreatedAt).ThenBy(k => k.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Revokes a key: it stops working at once in this process (within the cache lifetime elsewhere). The last active
    /// admin key cannot be revoked, so the API never locks everyone out.
    /// </summary>
    public async Task<ApiKeyRecord> RevokeAsync(string id, CancellationToken cancellationToken = default)
    {
        for (var attempt = 0; ; attempt++)
        {
            var doc = await documents.GetDocumentAsync(Collection, id, cancellationToken).ConfigureAwait(false)
                ?? throw new ApiKeyException(404, "key not found", $"no API key has id '{id}'");
            var record = JsonSerializer.Deserialize<ApiKeyRecord>(doc.Json, JsonDefaults.Options)!;
            if (record.Revoked)
            {
                cache.TryRemove(id, out _);
                return record;
            }

            if (record.Role == ApiRoles.Admin && (await ListAsync(cancellationToken).ConfigureAwait(false)).Count(k => k.Role == ApiRoles.Admin && !k.Revoked) <= 1)
            {
                throw new ApiKeyException(409, "last admin key", $"key {id} is the last active admin key; create another admin key before revoking it");
            }

            var revoked = record with { RevokedAt = time.GetUtcNow() };
            var written = await documents.PutDocumentAsync(Collection, id, JsonSerializer.Serialize(revoked, JsonDefaults.Options), doc.Version, cancellationToken).ConfigureAwait(false);
            cache.TryRemove(id, out _);
            if (written is not null)
            {
                return revoked;
            }

            if (attempt >= 5)
            {
                throw new ApiKeyException(409, "key busy", $"key {id} changed while it was being revoked; try again");
            }
        }
    }

    /// <summary>True when an active admin key exists.</summary>
    public async Task<bool> HasActiveAdminAsync(CancellationToken cancellationToken = default) =>
        (await ListAsync(cancellationToken).ConfigureAwait(false)).Any(k => k.Role == ApiRoles.Admin && !k.Revoked);

    /// <summary>Writes the last-use times gathered since the previous flush (a lost race just waits for the next).</summary>
    public async Task FlushLastUsedAsync(CancellationToken cancellationToken = default)
    {
        foreach (var (id, entry) in cache)
        {
            var pending = Interlocked.Exchange(ref entry.PendingLastUse, 0);
            if (pending == 0 || entry.Record is null)
            {
                continue;
            }

            try
            {
                var doc = await documents.GetDocumentAsync(Collection, id, cancellationToken).ConfigureAwait(false);
                if (doc is null)
                {
                    continue;
                }

                var record = JsonSerializer.Deserialize<ApiKeyRecord>(doc.Json, JsonDefaults.Options)!;
                var at = DateTimeOffset.FromUnixTimeMilliseconds(pending);
                if (record.LastUsedAt is { } last && last >= at)
                {
                    continue;
                }

                await documents.PutDocumentAsync(Collection, id, JsonSerializer.Serialize(record with { LastUsedAt = at }, JsonDefaults.Options), doc.Version, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFlushFailed(logger, id, e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recording the last use of API key {KeyId} failed")]
    private static partial void LogFlushFailed(ILogger logger, string keyId, Exception exception);
}
