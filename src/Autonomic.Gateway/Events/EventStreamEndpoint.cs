using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Gateway.Http;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Autonomic.Gateway.Events;

/// <summary>
/// <c>GET /api/v1/events/stream</c>: the bus as Server-Sent Events. Each connection has its own transient consumer
/// group on <c>#</c>, optionally filtered by <c>?types=incident.*,task.#</c> (AMQP topic words: <c>*</c> one word,
/// <c>#</c> any). Each event is <c>id:</c> (the CloudEvent id), <c>event:</c> (its type) and <c>data:</c> (the
/// CloudEvent as one line of JSON). A comment line every <see cref="GatewayOptions.StreamHeartbeat"/> keeps idle
/// connections open. With <c>Last-Event-ID</c>, recent events after that one are replayed from the store first.
/// A client that falls <see cref="GatewayOptions.StreamClientBuffer"/> events behind is disconnected (it may
/// reconnect with Last-Event-ID); the bus never waits for it.
/// </summary>
public static partial class EventStreamEndpoint
{
    private const int ReplayWindow = 1000;
    private const int MaxPatterns = 32;

    public static RouteGroupBuilder MapEventStream(this RouteGroupBuilder api)
    {
        api.MapGet("/events/stream", StreamAsync).RequireAuthorization(AuthPolicies.Viewer).WithTags("events")
            .WithName("streamEvents").WithSummary("Every event on the bus as Server-Sent Events (text/event-stream)")
            .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return api;
    }

    private static async Task StreamAsync(HttpContext context, string? types, GatewayOptions options, IStateStore store, TimeProvider time, ILoggerFactory logs)
    {
        var ct = context.RequestAborted;
        var patterns = ParsePatterns(types);
        if (patterns is null)
        {
            await Problems.Status(StatusCodes.Status400BadRequest, "invalid types",
                $"types is a comma-separated list of at most {MaxPatterns} event type patterns such as incident.*,task.# (words of a-z, 0-9, '_' and '-', or * or #)").ExecuteAsync(context);
            return;
        }

        if (context.RequestServices.GetService<IEventBus>() is not { } bus)
        {
            await Problems.Status(StatusCodes.Status503ServiceUnavailable, "event bus unavailable", "this gateway has no event bus").ExecuteAsync(context);
            return;
        }

        var buffer = Channel.CreateBounded<CloudEvent>(new BoundedChannelOptions(Math.Max(1, options.StreamClientBuffer)) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
        var tooSlow = false;
        await using var subscription = bus.Subscribe("#", "sse-" + Guid.NewGuid().ToString("N"), (evt, _) =>
        {
            if (Matches(patterns, evt.Type) && !buffer.Writer.TryWrite(evt))
            {
                // Never wait for a slow client: end its stream instead.
                tooSlow = true;
                buffer.Writer.TryComplete();
            }

            return Task.CompletedTask;
        }, new SubscriptionOptions { Transient = true, MaxAttempts = 1, Capacity = Math.Max(16, options.StreamClientBuffer) });

        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        context.Response.ContentType = "text/event-stream; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers["X-Accel-Buffering"] = "no";
        var text = new StringBuilder();
        text.Append("retry: 3000\n: connected\n\n");

        var replayed = new HashSet<string>(StringComparer.Ordinal);
        var last = context.Request.Headers["Last-Event-ID"].ToString();
        if (last.Length is > 0 and <= 200)
        {
            try
            {
                var recent = await store.ListEventsAsync(ReplayWindow, null, ct);
                var from = recent.Select((e, i) => (e, i)).FirstOrDefault(x => x.e.Id == last) is { e: not null } hit ? hit.i + 1 : recent.Count;
                foreach (var evt in recent.Skip(from).Where(e => Matches(patterns, e.Type)))
                {
                    replayed.Add(evt.Id);
                    Append(text, evt);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogReplayFailed(logs.CreateLogger("Autonomic.Gateway.Events"), e);
            }
        }

        try
        {
            await context.Response.WriteAsync(text.ToString(), ct);
            await context.Response.Body.FlushAsync(ct);
            while (!ct.IsCancellationRequested)
            {
                bool more;
                try
                {
                    more = await buffer.Reader.WaitToReadAsync(ct).AsTask().WaitAsync(options.StreamHeartbeat, time, ct);
                }
                catch (TimeoutException)
                {
                    await context.Response.WriteAsync(": heartbeat\n\n", ct);
                    await context.Response.Body.FlushAsync(ct);
                    continue;
                }

                text.Clear();
                while (buffer.Reader.TryRead(out var evt))
                {
                    if (replayed.Count == 0 || !replayed.Remove(evt.Id))
                    {
                        Append(text, evt);
                    }
                }

                if (!more && tooSlow)
                {
                    text.Append("event: stream.overflow\ndata: {\"reason\":\"the client fell behind; reconnect with Last-Event-ID\"}\n\n");
                }

                if (text.Length > 0)
                {
                    await context.Response.WriteAsync(text.ToString(), ct);
                    await context.Response.Body.FlushAsync(ct);
                }

                if (!more)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away.
        }
    }

    private static void Append(StringBuilder text, CloudEvent evt) =>
        text.Append("id: ").Append(evt.Id).Append('\n')
            .Append("event: ").Append(evt.Type).Append('\n')
            .Append("data: ").Append(JsonSerializer.Serialize(evt, JsonDefaults.Options)).Append("\n\n");

    /// <summary>The patterns of <c>?types=</c>; an empty list means every type; null when one is malformed.</summary>
    internal static IReadOnlyList<string[]>? ParsePatterns(string? types)
    {
        if (string.IsNullOrWhiteSpace(types))
        {
            return [];
        }

        var patterns = types.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (patterns.Length > MaxPatterns)
        {
            return null;
        }

        var words = patterns.Select(p => p.Split('.')).ToList();
        foreach (var pattern in words)
        {
            if (pattern.Length > 16 || pattern.Any(w => w is not ("*" or "#") && (w.Length is 0 or > 64 || !w.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '_' or '-'))))
            {
                return null;
            }
        }

        return words;
    }

    /// <summary>AMQP topic matching: <c>*</c> is exactly one word, <c>#</c> zero or more.</summary>
    internal static bool Matches(IReadOnlyList<string[]> patterns, string type)
    {
        if (patterns.Count == 0)
        {
            return true;
        }

        var words = type.Split('.');
        return patterns.Any(p => Match(p, 0, words, 0));
    }

    private static bool Match(string[] pattern, int i, string[] words, int j)
    {
        if (i == pattern.Length)
        {
            return j == words.Length;
        }

        if (pattern[i] == "#")
        {
            for (var k = j; k <= words.Length; k++)
            {
                if (Match(pattern, i + 1, words, k))
                {
                    return true;
                }
            }

            return false;
        }

        return j < words.Length && (pattern[i] == "*" || pattern[i] == words[j]) && Match(pattern, i + 1, words, j + 1);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replaying events for an event stream failed; streaming live events only")]
    private static partial void LogReplayFailed(ILogger logger, Exception exception);
}
