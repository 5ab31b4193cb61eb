using System.Globalization;
using System.Text.Json;
using Autonomic.Agents.Fleet;
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
    IDocumentStore docs, IStateStore state, IEventBus bus, SecurityEnforcement enforcement, SecurityOptions options, TimeProvider time, ILogger<SecurityResponder> logger)
{
    public const string AgentName = "security";
    private const string Source = "/agents/security";
    private readonly ActionRecorder _actions = new(state, time, AgentName, newId: SequencedIds());

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
                await LimitOrQuarantineAsync(alert, "rate_limit", alert.SourceIp, options.RateLimitTime, options.RateLimitPerSecond, cancellationToken).ConfigureAwait(false);
                break;
            case "quarantine" when alert.Instance is not null:
                await LimitOrQuarantineAsync(alert, "quarantine", alert.Instance, options.QuarantineTime, null, cancellationToken).ConfigureAwait(false);
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
            await _actions.DoneAsync(NewAction("block", ip, alert, now), ActionStatus.Skipped, "not blocked: the address is allowlisted", cancellationToken).ConfigureAwait(false);
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
        await PutBlockAsync(docs, state, bus, enforcement.Blocks, record, action, alert.Id, time, cancellationToken).ConfigureAwait(false);
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

        var action = await _actions.IntentAsync(NewAction("suspend_key", key, alert, now), cancellationToken).ConfigureAwait(false);
        var until = now + options.SuspendTime;
        if (!options.DryRun)
        {
            var suspension = new KeySuspension { KeyId = key, Reason = alert.Reason, Since = now, Until = until };
            await docs.PutDocumentAsync(SecurityCollections.KeySuspensions, key, JsonSerializer.Serialize(suspension, JsonDefaults.Options), null, cancellationToken).ConfigureAwait(false);
        }

        await PublishAsync(new SecurityResponse { Kind = "suspend_key", Target = key, Until = until, Reason = alert.Reason, Rule = alert.Rule, DryRun = options.DryRun, AlertId = alert.Id }, key, cancellationToken).ConfigureAwait(false);
        await _actions.CompleteAsync(action, options.DryRun ? ActionStatus.Skipped : ActionStatus.Succeeded,
            options.DryRun ? "dry run: would suspend the key" : $"suspended until {until:O}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Rate-limits a client or quarantines an instance, unless it is allowlisted (a client) or already in force; the
    /// record goes to the store and the event to every process that enforces it (gateway, load balancers, healer).
    /// </summary>
    private async Task LimitOrQuarantineAsync(SecurityAlert alert, string kind, string target, TimeSpan duration, double? rps, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (kind == "rate_limit" && options.IsAllowlisted(target))
        {
            await _actions.DoneAsync(NewAction(kind, target, alert, now), ActionStatus.Skipped, "not rate-limited: the address is allowlisted", cancellationToken).ConfigureAwait(false);
            return;
        }

        var collection = SecurityEnforcement.CollectionOf(kind);
        var existing = await ReadAsync<ResponseRecord>(collection, target, cancellationToken).ConfigureAwait(false);
        if (existing.Record is { Active: true } active && active.Until > now && active.DryRun == options.DryRun)
        {
            return;
        }

        var record = new ResponseRecord
        {
            Kind = kind,
            Target = target,
            Reason = alert.Reason,
            Rule = alert.Rule,
            Since = now,
            Until = now + duration,
            DryRun = options.DryRun,
            RequestsPerSecond = rps,
            AlertId = alert.Id,
            Evidence = alert.Evidence,
        };
        await PutResponseAsync(docs, state, bus, enforcement, record, NewAction(kind, target, alert, now), time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stores a block, takes it into force here (unless a dry run), announces it and completes its action (recorded
    /// first as an intent). Used by the agent and by an operator's request through the API.
    /// </summary>
    public static async Task PutBlockAsync(
        IDocumentStore docs, IStateStore state, IEventBus bus, Blocklist? blocklist, BlockRecord record, AgentAction action, string? alertId, TimeProvider time, CancellationToken cancellationToken)
    {
        var audit = Audit(state, time);
        await audit.IntentAsync(action, cancellationToken).ConfigureAwait(false);
        await docs.PutDocumentAsync(SecurityCollections.Blocks, record.Ip, JsonSerializer.Serialize(record, JsonDefaults.Options), null, cancellationToken).ConfigureAwait(false);
        if (!record.DryRun)
        {
            blocklist?.Set(record);
        }

        await bus.PublishAsync(CloudEvent.Create(Source, EventTypes.SecurityResponse, record.Ip, time.GetUtcNow(), new SecurityResponse
        {
            Kind = "block",
            Target = record.Ip,
            Until = record.Until,
            Reason = record.Reason,
            Rule = record.Rule,
            DryRun = record.DryRun,
            AlertId = alertId,
        }), cancellationToken).ConfigureAwait(false);
        await audit.CompleteAsync(action, record.DryRun ? ActionStatus.Skipped : ActionStatus.Succeeded,
            record.DryRun ? $"dry run: would block {record.Ip} until {record.Until:O}" : $"blocked until {record.Until:O}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stores a rate limit or quarantine, takes it into force here, announces it and completes its action (recorded
    /// first as an intent). Used by the agent and by an operator's request through the API.
    /// </summary>
    public static async Task PutResponseAsync(
        IDocumentStore docs, IStateStore state, IEventBus bus, SecurityEnforcement? enforcement, ResponseRecord record, AgentAction action, TimeProvider time, CancellationToken cancellationToken)
    {
        var audit = Audit(state, time);
        await audit.IntentAsync(action, cancellationToken).ConfigureAwait(false);
        await docs.PutDocumentAsync(SecurityEnforcement.CollectionOf(record.Kind), record.Target, JsonSerializer.Serialize(record, JsonDefaults.Options), null, cancellationToken).ConfigureAwait(false);
        enforcement?.Set(record);
        await bus.PublishAsync(CloudEvent.Create(Source, EventTypes.SecurityResponse, record.Target, time.GetUtcNow(), new SecurityResponse
        {
            Kind = record.Kind,
            Target = record.Target,
            Until = record.Until,
            Reason = record.Reason,
            Rule = record.Rule,
            DryRun = record.DryRun,
            AlertId = record.AlertId,
            RequestsPerSecond = record.RequestsPerSecond,
        }), cancellationToken).ConfigureAwait(false);
        var what = record.Kind == "rate_limit"
            ? $"rate-limited to {record.RequestsPerSecond?.ToString("0.###", CultureInfo.InvariantCulture)}/s"
            : "quarantined (out of the load balancer, kept running)";
        await audit.CompleteAsync(action, record.DryRun ? ActionStatus.Skipped : ActionStatus.Succeeded,
            record.DryRun ? $"dry run: would {record.Kind} {record.Target}" : $"{what} until {record.Until:O}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Lifts a rate limit or quarantine (expiry or an operator's request); the record stays, inactive. False when
    /// another writer changed it first.
    /// </summary>
    public static async Task<bool> LiftResponseAsync(
        IDocumentStore docs, IStateStore state, IEventBus bus, SecurityEnforcement? enforcement, ResponseRecord record, long version, string reason, string by, TimeProvider time, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var lifted = record with { Active = false, Until = record.Until < now ? record.Until : now };
        if (await docs.PutDocumentAsync(SecurityEnforcement.CollectionOf(record.Kind), record.Target, JsonSerializer.Serialize(lifted, JsonDefaults.Options), version, cancellationToken).ConfigureAwait(false) is null)
        {
            return false;
        }

        enforcement?.Set(lifted);
        await RecordLiftAsync(state, bus, "un" + record.Kind, record.Target, reason, by, time, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>Lifts every block, key suspension, rate limit and quarantine whose time is up; returns how many.</summary>
    public async Task<int> ExpireAsync(CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        int lifted = 0;
        foreach (var doc in await docs.ListDocumentsAsync(SecurityCollections.Blocks, 100_000, cancellationToken).ConfigureAwait(false))
        {
            var record = JsonSerializer.Deserialize<BlockRecord>(doc.Json, JsonDefaults.Options);
            if (record is { Active: true } && record.Until <= now)
            {
                lifted += await LiftBlockAsync(docs, state, bus, enforcement.Blocks, record, doc.Version, "ban expired", "system", time, cancellationToken).ConfigureAwait(false) ? 1 : 0;
            }
        }

        foreach (var collection in (string[])[SecurityCollections.RateLimits, SecurityCollections.Quarantines])
        {
            foreach (var (record, version) in await SecurityEnforcement.ListAsync(docs, collection, cancellationToken).ConfigureAwait(false))
            {
                if (record.Active && record.Until <= now)
                {
                    lifted += await LiftResponseAsync(docs, state, bus, enforcement, record, version, $"{record.Kind.Replace('_', ' ')} expired", "system", time, cancellationToken).ConfigureAwait(false) ? 1 : 0;
                }
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
        var audit = Audit(state, time);
        var lift = audit.New(kind, target, by == "system" ? "security.expiry" : "security.manual", reason, new Dictionary<string, string> { ["by"] = by }, now);
        await audit.DoneAsync(lift, ActionStatus.Succeeded, $"{kind} {target}", cancellationToken).ConfigureAwait(false);
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
            evidence[$"line{i + 1}"] = ActionRecorder.Clip(alert.Evidence[i]);
        }

        if (options.DryRun)
        {
            evidence["dry_run"] = "true";
        }

        return _actions.New(kind, subject, alert.Rule, alert.Reason, evidence, now);
    }

    /// <summary>
    /// The audit trail of the security agent's responses taken by hand through the API and of lifts: action ids are
    /// <c>sec-</c>, the time in ms and random hex digits, 40 characters.
    /// </summary>
    public static ActionRecorder Audit(IStateStore state, TimeProvider time) =>
        new(state, time, AgentName, newId: now => $"sec-{now.ToUnixTimeMilliseconds():x}-{Guid.NewGuid():N}"[..40]);

    /// <summary>Ids of the actions answering alerts: <c>sec-</c>, the time in ms, a sequence number and random hex digits, 48 characters.</summary>
    private static Func<DateTimeOffset, string> SequencedIds()
    {
        long sequence = 0;
        return now => $"sec-{now.ToUnixTimeMilliseconds():x}-{Interlocked.Increment(ref sequence):x}-{Guid.NewGuid():N}"[..48];
    }

    private static string Format(TimeSpan t) => t.TotalSeconds < 120
        ? t.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture) + " s"
        : t.TotalMinutes < 120 ? t.TotalMinutes.ToString("0.#", CultureInfo.InvariantCulture) + " min" : t.TotalHours.ToString("0.#", CultureInfo.InvariantCulture) + " h";

    [LoggerMessage(Level = LogLevel.Information, Message = "Security alert {Rule} ({Class}) from {Source}: {Reason}")]
    private static partial void LogAlert(ILogger logger, string rule, string @class, string source, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Blocked {Ip} for {Duration} (dry run: {DryRun})")]
    private static partial void LogBlocked(ILogger logger, string ip, TimeSpan duration, bool dryRun);
}
