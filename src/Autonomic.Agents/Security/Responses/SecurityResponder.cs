using System.Globalization;
using System.Text.Json;
using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;
using Autonomic.Core.Security;
using Microsoft.Extensions.Logging;

namespace Autonomic.Agents.Security;

/// <summary>
/// Carries out the response an alert asks for, by policy: block the source address (ban time growing for repeat
/// offenders), suspend the API key, rate-limit the client, or quarantine the instance. Every response expires and can be
/// lifted; allowlisted addresses are never blocked; in dry-run mode the decision is recorded but not enforced. Each
/// response is an <see cref="AgentAction"/> (intent, then outcome) with the offending lines as evidence, and a
/// <c>security.response</c> event; each alert is kept in <c>security_alerts</c> and published as <c>security.alert</c>.
/// </summary>
public sealed partial class SecurityResponder(
    IDocumentStore docs, IStateStore state, IEventBus bus, Blocklist blocklist, SecurityOptions options, TimeProvider time, ILogger<SecurityResponder> logger)
{
    public const string AgentName = "security";
    private const string Source = "/agents/security";
    private long _sequence;

    /// <summary>Records and publishes <paramref name="alert"/>, then responds to it.</summary>
    public async Task HandleAsync(SecurityAlert alert, CancellationToken cancellationToken)
    {
        await docs.PutDocumentAsync(SecurityCollections.Alerts, alert.Id, JsonSerializer.Serialize(alert, JsonDefaults.Options), null, cancellationToken).ConfigureAwait(false);
        await bus.PublishAsync(CloudEvent.Create(Source, EventTypes.SecurityAlert, alert.SourceIp ?? alert.KeyId ?? alert.Subject, time.GetUtcNow(), alert), cancellationToken).ConfigureAwait(false);
        LogAlert(logger, alert.Rule, alert.Class, alert.SourceIp ?? "-", alert.Reason);
        switch (alert.Response)
        {
            case "block" when alert.SourceIp is not null:
                await BlockAsync(alert, cancellationToken).ConfigureAwait(false);
                break;
            case "suspend_key" when alert.KeyId is not null:
                await SuspendKeyAsync(alert, cancellationToken).ConfigureAwait(false);
                break;
            case "rate_limit" when alert.SourceIp is not null:
                await SimpleAsync(alert, "rate_limit", alert.SourceIp, options.Ban.BanTime, options.RateLimitPerSecond, cancellationToken).ConfigureAwait(false);
                break;
            case "quarantine" when alert.Subject is not null:
                await SimpleAsync(alert, "quarantine", alert.Subject, options.Ban.BanTime, null, cancellationToken).ConfigureAwait(false);
                break;
        }
    }

    /// <summary>Blocks the alert's source unless it is allowlisted or already blocked; returns the stored block, if any.</summary>
    public async Task<BlockRecord?> BlockAsync(SecurityAlert alert, CancellationToken cancellationToken)
    {
        var ip = alert.SourceIp!;
        var now = time.GetUtcNow();
        if (options.IsAllowlisted(ip))
        {
            await state.UpsertActionAsync(NewAction("block", ip, alert, now) with
            {
                Status = ActionStatus.Skipped,
                Outcome = "not blocked: the address is allowlisted",
                CompletedAt = now,
            }, cancellationToken).ConfigureAwait(false);
            return null;
        }

        var existing = await ReadAsync<BlockRecord>(SecurityCollections.Blocks, ip, cancellationToken).ConfigureAwait(false);
        if (existing.Record is { Active: true } active && active.Until > now && active.DryRun == options.DryRun)
        {
            return active;
        }

        int earlier = existing.Record?.Count ?? 0;
        var duration = options.Ban.Duration(earlier);
        var action = NewAction("block", ip, alert, now) with
        {
            Reason = $"{alert.Reason}; ban {Format(duration)} (ban {earlier + 1} of this address)",
        };
        await state.UpsertActionAsync(action, cancellationToken).ConfigureAwait(false);
        var record = new BlockRecord
        {
            Ip = ip,
            Reason = alert.Reason,
            Rule = alert.Rule,
            Since = now,
            Until = now + duration,
            Count = earlier + 1,
            Active = true,
            DryRun = options.DryRun,
            Evidence = alert.Evidence,
        };
        await docs.PutDocumentAsync(SecurityCollections.Blocks, ip, JsonSerializer.Serialize(record, JsonDefaults.Options), null, cancellationToken).ConfigureAwait(false);
        if (!options.DryRun)
        {
            blocklist.Set(record);
        }

        await PublishAsync(new SecurityResponse
        {
            Kind = "block",
            Target = ip,
            Until = record.Until,
            Reason = alert.Reason,
            Rule = alert.Rule,
            DryRun = options.DryRun,
            AlertId = alert.Id,
        }, ip, cancellationToken).ConfigureAwait(false);
        await state.UpsertActionAsync(action with
        {
            Status = options.DryRun ? ActionStatus.Skipped : ActionStatus.Succeeded,
            Outcome = options.DryRun ? $"dry run: would block {ip} until {record.Until:O}" : $"blocked until {record.Until:O}",
            CompletedAt = time.GetUtcNow(),
        }, cancellationToken).ConfigureAwait(false);
        LogBlocked(logger, ip, duration, options.DryRun);
        return record;
    }

    private async Task SuspendKeyAsync(SecurityAlert alert, CancellationToken cancellationToken)
    {
        var key = alert.KeyId!;
        var now = time.GetUtcNow();
        var existing = await ReadAsync<KeySuspension>(SecurityCollections.KeySuspensions, key, cancellationToken).ConfigureAwait(false);
        if (existing.Record is { Active: true } active && active.Until > now)
        {
            return;
        }

        var action = NewAction("suspend_key", key, alert, now);
        await state.UpsertActionAsync(action, cancellationToken).ConfigureAwait(false);
        var until = now + options.SuspendTime;
        if (!options.DryRun)
        {
            var suspension = new KeySuspension { KeyId = key, Reason = alert.Reason, Since = now, Until = until };
            await docs.PutDocumentAsync(SecurityCollections.KeySuspensions, key, JsonSerializer.Serialize(suspension, JsonDefaults.Options), null, cancellationToken).ConfigureAwait(false);
        }

        await PublishAsync(new SecurityResponse { Kind = "suspend_key", Target = key, Until = until, Reason = alert.Reason, Rule = alert.Rule, DryRun = options.DryRun, AlertId = alert.Id }, key, cancellationToken).ConfigureAwait(false);
        await state.UpsertActionAsync(action with
        {
            Status = options.DryRun ? ActionStatus.Skipped : ActionStatus.Succeeded,
            Outcome = options.DryRun ? "dry run: would suspend the key" : $"suspended until {until:O}",
            CompletedAt = time.GetUtcNow(),
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Rate limits and quarantines are enforced by whoever acts on the event (load balancer, healer).</summary>
    private async Task SimpleAsync(SecurityAlert alert, string kind, string target, TimeSpan duration, double? rps, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var action = NewAction(kind, target, alert, now);
        await state.UpsertActionAsync(action, cancellationToken).ConfigureAwait(false);
        await PublishAsync(new SecurityResponse { Kind = kind, Target = target, Until = now + duration, Reason = alert.Reason, Rule = alert.Rule, DryRun = options.DryRun, AlertId = alert.Id, RequestsPerSecond = rps }, target, cancellationToken).ConfigureAwait(false);
        await state.UpsertActionAsync(action with
        {
            Status = options.DryRun ? ActionStatus.Skipped : ActionStatus.Succeeded,
            Outcome = options.DryRun ? $"dry run: would {kind} {target}" : $"{kind} requested until {now + duration:O}",
            CompletedAt = time.GetUtcNow(),
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lifts every block and key suspension whose time is up; returns how many.</summary>
    public async Task<int> ExpireAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        int lifted = 0;
        foreach (var doc in await docs.ListDocumentsAsync(SecurityCollections.Blocks, 100_000, cancellationToken).ConfigureAwait(false))
        {
            var record = JsonSerializer.Deserialize<BlockRecord>(doc.Json, JsonDefaults.Options);
            if (record is { Active: true } && record.Until <= now)
            {
                lifted += await LiftBlockAsync(docs, state, bus, blocklist, record, doc.Version, "ban expired", "system", time, cancellationToken).ConfigureAwait(false) ? 1 : 0;
            }
        }

        foreach (var doc in await docs.ListDocumentsAsync(SecurityCollections.KeySuspensions, 100_000, cancellationToken).ConfigureAwait(false))
        {
            var record = JsonSerializer.Deserialize<KeySuspension>(doc.Json, JsonDefaults.Options);
            if (record is { Active: true } && record.Until <= now)
            {
                var done = record with { Active = false };
                if (await docs.PutDocumentAsync(SecurityCollections.KeySuspensions, record.KeyId, JsonSerializer.Serialize(done, JsonDefaults.Options), doc.Version, cancellationToken).ConfigureAwait(false) is not null)
                {
                    lifted++;
                    await RecordLiftAsync(state, bus, "unsuspend_key", record.KeyId, "suspension expired", "system", time, cancellationToken).ConfigureAwait(false);
                }
            }
        }

        return lifted;
    }

    /// <summary>
    /// Lifts a block (expiry or an operator's unblock): the record stays, inactive, so a repeat offender's next ban is
    /// longer. False when another writer changed it first.
    /// </summary>
    public static async Task<bool> LiftBlockAsync(
        IDocumentStore docs, IStateStore state, IEventBus bus, Blocklist? blocklist, BlockRecord record, long version, string reason, string by, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var lifted = record with { Active = false, Until = record.Until < now ? record.Until : now };
        if (await docs.PutDocumentAsync(SecurityCollections.Blocks, record.Ip, JsonSerializer.Serialize(lifted, JsonDefaults.Options), version, cancellationToken).ConfigureAwait(false) is null)
        {
            return false;
        }

        blocklist?.Remove(record.Ip);
        await RecordLiftAsync(state, bus, "unblock", record.Ip, reason, by, time, cancellationToken).ConfigureAwait(false);
        return true;
    }

    private static async Task RecordLiftAsync(IStateStore state, IEventBus bus, string kind, string target, string reason, string by, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        await state.UpsertActionAsync(new AgentAction
        {
            Id = $"sec-{now.ToUnixTimeMilliseconds():x}-{Guid.NewGuid():N}"[..40],
            Agent = AgentName,
            Kind = kind,
            Subject = target,
            Reason = reason,
            Rule = by == "system" ? "security.expiry" : "security.manual",
            Evidence = new Dictionary<string, string> { ["by"] = by },
            Status = ActionStatus.Succeeded,
            Outcome = $"{kind} {target}",
            CreatedAt = now,
            CompletedAt = now,
        }, cancellationToken).ConfigureAwait(false);
        await bus.PublishAsync(CloudEvent.Create(Source, EventTypes.SecurityResponse, target, now,
            new SecurityResponse { Kind = kind, Target = target, Reason = reason }), cancellationToken).ConfigureAwait(false);
    }

    private async Task PublishAsync(SecurityResponse response, string subject, CancellationToken cancellationToken) =>
        await bus.PublishAsync(CloudEvent.Create(Source, EventTypes.SecurityResponse, subject, time.GetUtcNow(), response), cancellationToken).ConfigureAwait(false);

    private async Task<(T? Record, long Version)> ReadAsync<T>(string collection, string id, CancellationToken cancellationToken)
        where T : class
    {
        var doc = await docs.GetDocumentAsync(collection, id, cancellationToken).ConfigureAwait(false);
        return doc is null ? (null, 0) : (JsonSerializer.Deserialize<T>(doc.Json, JsonDefaults.Options), doc.Version);
    }

    private AgentAction NewAction(string kind, string subject, SecurityAlert alert, DateTimeOffset now)
    {
        var evidence = new Dictionary<string, string>
        {
            ["alert"] = alert.Id,
            ["class"] = alert.Class,
            ["severity"] = alert.Severity.ToString().ToLowerInvariant(),
        };
        if (alert.SourceIp is { } ip)
        {
            evidence["source_ip"] = ip;
        }

        if (alert.KeyId is { } key)
        {
            evidence["key_id"] = key;
        }

        for (int i = 0; i < alert.Evidence.Count; i++)
        {
            evidence[$"line{i + 1}"] = alert.Evidence[i].Length > 500 ? alert.Evidence[i][..500] : alert.Evidence[i];
        }

        if (options.DryRun)
        {
            evidence["dry_run"] = "true";
        }

        return new AgentAction
        {
            Id = $"sec-{now.ToUnixTimeMilliseconds():x}-{Interlocked.Increment(ref _sequence):x}-{Guid.NewGuid():N}"[..48],
            Agent = AgentName,
            Kind = kind,
            Subject = subject,
            Reason = alert.Reason,
            Rule = alert.Rule,
            Evidence = evidence,
            Status = ActionStatus.Intent,
            CreatedAt = now,
        };
    }

    private static string Format(TimeSpan t) => t.TotalSeconds < 120
        ? t.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s"
        : t.TotalMinutes < 120 ? t.TotalMinutes.ToString("0.#", CultureInfo.InvariantCulture) + " min" : t.TotalHours.ToString("0.#", CultureInfo.InvariantCulture) + " h";

    [LoggerMessage(Level = LogLevel.Information, Message = "Security alert {Rule} ({Class}) from {Source}: {Reason}")]
    private static partial void LogAlert(ILogger logger, string rule, string @class, string source, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Blocked {Ip} for {Duration} (dry run: {DryRun})")]
    private static partial void LogBlocked(ILogger logger, string ip, TimeSpan duration, bool dryRun);
}
