namespace Autonomic.Gateway;

/// <summary>Settings of the HTTP API. <see cref="LogDirectory"/> is where instance logs are read from.</summary>
public sealed class GatewayOptions
{
    /// <summary>1 MiB.</summary>
    public const long DefaultMaxRequestBodyBytes = 1024 * 1024;

    /// <summary>Directory holding one <c>&lt;instanceId&gt;.log</c> file per instance.</summary>
    public string LogDirectory { get; set; } = ".autonomic/logs";

    /// <summary>
    /// <see cref="AuthModes.Keys"/> (the default): every <c>/api</c> call needs an API key. <see cref="AuthModes.None"/>:
    /// everyone is an admin, for local experiments only (a warning is logged at start).
    /// </summary>
    public string Auth { get; set; } = AuthModes.Keys;

    /// <summary>
    /// An admin key (<c>ak_ID_SECRET</c>) to create when it is not stored yet, e.g. from <c>AUTONOMIC_BOOTSTRAP_KEY</c>.
    /// Without it, a first start with no usable admin key generates one and hands it to <see cref="AnnounceBootstrapKey"/>.
    /// </summary>
    public string? BootstrapKey { get; set; }

    /// <summary>
    /// Receives a generated admin key once, to show on the console. Never log it: the structured log is not a place
    /// for secrets.
    /// </summary>
    public Action<string>? AnnounceBootstrapKey { get; set; }

    /// <summary>Requests per second of a new key unless its creator says otherwise.</summary>
    public int DefaultKeyRate { get; set; } = 50;

    /// <summary>Largest request body of a JSON endpoint; an endpoint may raise it with <c>RequestSizeLimitAttribute</c> metadata.</summary>
    public long MaxRequestBodyBytes { get; set; } = DefaultMaxRequestBodyBytes;

    /// <summary>How long an API key lookup is cached; a revocation by this process takes effect at once.</summary>
    public TimeSpan KeyCacheTtl { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary><c>gateway.access</c> events queued for the bus before further ones are dropped (and counted).</summary>
    public int AccessEventCapacity { get; set; } = 8192;

    /// <summary>Events queued per event-stream client before the client counts as too slow and is disconnected.</summary>
    public int StreamClientBuffer { get; set; } = 1024;

    /// <summary>Time between comment lines that keep an idle event stream open through proxies.</summary>
    public TimeSpan StreamHeartbeat { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>Values of <see cref="GatewayOptions.Auth"/>.</summary>
public static class AuthModes
{
    public const string Keys = "keys";
    public const string None = "none";
}
