using System.CommandLine;
using System.Text.Json;

namespace Autonomic.Cli.Commands;

/// <summary>
/// Runs a command that talks to the API and maps its failures to the CLI's contract:
/// no control plane -> the "start one" hint and exit 1; a problem document -> <c>error: title: detail</c> and exit 1.
/// </summary>
internal sealed class ClientRunner(CliContext context, Option<string> api)
{
    public CliContext Context => context;

    /// <summary>The root's <c>--api-key</c> option (recursive), which every client command reads.</summary>
    public Option<string?> ApiKey { get; } = new("--api-key")
    {
        Description = "API key (ak_...); else env AUTONOMIC_API_KEY, else the file ~/.config/autonomic/key (mode 600)",
        Recursive = true,
    };

    // Transfers (uploads, downloads) pass Timeout.InfiniteTimeSpan as the per-request timeout.
    public async Task<int> RunAsync(ParseResult parse, Func<ApiClient, Task<int>> body, TimeSpan? timeout = null)
    {
        string? key;
        try
        {
            key = KeySource.Resolve(parse.GetValue(ApiKey), context.KeyFile);
        }
        catch (KeyFileException e)
        {
            await context.Error.WriteLineAsync($"error: {e.Message}");
            return 1;
        }

        using var client = new ApiClient(parse.GetValue(api)!, timeout ?? context.RequestTimeout, key);
        try
        {
            return await body(client);
        }
        catch (ApiProblemException e) when (e.Status == 401)
        {
            await context.Error.WriteLineAsync(key is null
                ? "error: the API needs a key (401): pass --api-key, set AUTONOMIC_API_KEY or write it to ~/.config/autonomic/key (mode 600)"
                : $"error: the API refused the key (401): {e.Detail ?? "unknown, wrong or revoked"}");
            return 1;
        }
        catch (ApiProblemException e) when (e.Status == 403)
        {
            await context.Error.WriteLineAsync($"error: this key may not do that (403): {e.Detail ?? "its role is too low"}");
            return 1;
        }
        catch (ControlPlaneUnreachableException e)
        {
            await context.Error.WriteLineAsync(e.Message);
            return 1;
        }
        catch (ApiProblemException e)
        {
            await context.Error.WriteLineAsync($"error: {e.Message}");
            return 1;
        }
        catch (JsonException e)
        {
            await context.Error.WriteLineAsync($"error: the control plane sent an answer this CLI cannot read: {e.Message}");
            return 1;
        }
    }
}

/// <summary>Formatting shared by the table commands.</summary>
internal static class Format
{
    public static string Time(DateTimeOffset? t) => t is { } v ? v.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss") : "-";

    public static string Duration(TimeSpan d)
    {
        if (d < TimeSpan.Zero)
        {
            d = TimeSpan.Zero;
        }

        return d.TotalHours >= 24 ? $"{(int)d.TotalDays}d{d.Hours:00}h"
            : d.TotalMinutes >= 60 ? $"{(int)d.TotalHours}h{d.Minutes:00}m"
            : d.TotalSeconds >= 60 ? $"{(int)d.TotalMinutes}m{d.Seconds:00}s"
            : $"{(int)d.TotalSeconds}s";
    }

    public static string Or(string? s) => string.IsNullOrEmpty(s) ? "-" : s;

    public static string Ms(long? ms) => ms is { } v ? v.ToString(System.Globalization.CultureInfo.InvariantCulture) : "-";
}
