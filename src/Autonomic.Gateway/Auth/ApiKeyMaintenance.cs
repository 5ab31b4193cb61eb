using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Autonomic.Gateway.Auth;

/// <summary>
/// At start: warns when authentication is off, and makes sure an admin key exists (the configured bootstrap key, or
/// a generated one handed once to <see cref="GatewayOptions.AnnounceBootstrapKey"/>). Then writes the keys' last-use
/// times every few seconds, and once more at shutdown.
/// </summary>
internal sealed partial class ApiKeyMaintenance(ApiKeyStore keys, GatewayOptions options, TimeProvider time, ILogger<ApiKeyMaintenance> logger) : BackgroundService
{
    private static readonly TimeSpan FlushInterval = TimeSpan.FromSeconds(10);

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (options.Auth == AuthModes.None)
        {
            LogAuthOff(logger);
            return;
        }

        await BootstrapAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task BootstrapAsync(CancellationToken cancellationToken)
    {
        if (options.BootstrapKey is { Length: > 0 } given)
        {
            if (await keys.ImportAsync(given, "bootstrap", ApiRoles.Admin, cancellationToken).ConfigureAwait(false))
            {
                LogImported(logger, ApiKeyFormat.TryParse(given, out var id, out _) ? id : "?");
            }

            return;
        }

        if (await keys.HasActiveAdminAsync(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var created = await keys.CreateAsync("bootstrap", ApiRoles.Admin, null, null, "bootstrap", cancellationToken).ConfigureAwait(false);
        // The id is safe to log; the key itself goes to the console only, once.
        LogCreated(logger, created.Info.Id);
        if (options.AnnounceBootstrapKey is { } announce)
        {
            announce(created.Key);
        }
        else
        {
            LogNotAnnounced(logger, created.Info.Id);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(FlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await keys.FlushLastUsedAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (options.Auth == AuthModes.Keys)
        {
            await keys.FlushLastUsedAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "API authentication is off (auth: none): anyone who can reach the API is an admin. Use it for local experiments only.")]
    private static partial void LogAuthOff(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "Stored the configured bootstrap admin key {KeyId}")]
    private static partial void LogImported(ILogger logger, string keyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No admin API key existed: created admin key {KeyId} (shown once on the console)")]
    private static partial void LogCreated(ILogger logger, string keyId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Admin key {KeyId} was created but this host shows no console; set AUTONOMIC_BOOTSTRAP_KEY to choose the admin key")]
    private static partial void LogNotAnnounced(ILogger logger, string keyId);
}
