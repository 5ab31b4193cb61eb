using Autonomic.Core.Abstractions;
using Autonomic.Core.Model;

namespace Autonomic.Agents.Fleet;

/// <summary>
/// Writes one agent's <see cref="AgentAction"/>s to the audit trail: an intent before the work and its outcome after
/// (<see cref="IntentAsync"/>, <see cref="CompleteAsync"/>), or an action done at once (<see cref="DoneAsync"/>). Given
/// a bus, every completed intent is also announced as <see cref="EventTypes.ActionRecorded"/> from the agent's source.
/// Ids are <c>act-</c> and 12 hex digits unless the agent gives its own (from the time the action is created).
/// </summary>
public sealed class ActionRecorder(
    IStateStore store, TimeProvider time, string agent, IEventBus? bus = null, Func<DateTimeOffset, string>? newId = null)
{
    /// <summary>The longest evidence value kept; see <see cref="Clip"/>.</summary>
    public const int MaxEvidenceLength = 500;

    /// <summary>An evidence value cut to <see cref="MaxEvidenceLength"/> characters.</summary>
    public static string Clip(string value) => value.Length > MaxEvidenceLength ? value[..MaxEvidenceLength] : value;

    /// <summary>
    /// A new action of this agent as an intent, created <paramref name="at"/> (now when not given), with a copy of
    /// <paramref name="evidence"/> (the caller may go on changing its dictionary).
    /// </summary>
    public AgentAction New(string kind, string subject, string rule, string reason, IReadOnlyDictionary<string, string> evidence, DateTimeOffset? at = null)
    {
        var now = at ?? time.GetUtcNow();
        return new AgentAction
        {
            Id = newId?.Invoke(now) ?? RecordIds.New("act"),
            Agent = agent,
            Kind = kind,
            Subject = subject,
            Reason = reason,
            Rule = rule,
            Evidence = new Dictionary<string, string>(evidence),
            Status = ActionStatus.Intent,
            CreatedAt = now,
        };
    }

    /// <summary>Writes <paramref name="action"/> as it is, before its work runs; returns it.</summary>
    public async Task<AgentAction> IntentAsync(AgentAction action, CancellationToken ct)
    {
        await store.UpsertActionAsync(action, ct).ConfigureAwait(false);
        return action;
    }

    /// <summary>Writes the outcome of an intent, completed now, and announces it when the recorder has a bus.</summary>
    public async Task<AgentAction> CompleteAsync(AgentAction action, ActionStatus status, string outcome, CancellationToken ct)
    {
        var done = action with { Status = status, Outcome = outcome, CompletedAt = time.GetUtcNow() };
        await store.UpsertActionAsync(done, ct).ConfigureAwait(false);
        if (bus is not null)
        {
            await AnnounceAsync(done, ct).ConfigureAwait(false);
        }

        return done;
    }

    /// <summary>Writes that an intent's work threw: failed, the error as outcome, even while stopping.</summary>
    public Task<AgentAction> FailAsync(AgentAction action, Exception error) =>
        CompleteAsync(action, ActionStatus.Failed, error.Message, CancellationToken.None);

    /// <summary>
    /// Writes an action done the moment it was created (an intent need not be written first): completed at its
    /// <see cref="AgentAction.CreatedAt"/>. Not announced.
    /// </summary>
    public async Task<AgentAction> DoneAsync(AgentAction action, ActionStatus status, string outcome, CancellationToken ct)
    {
        var done = action with { Status = status, Outcome = outcome, CompletedAt = action.CreatedAt };
        await store.UpsertActionAsync(done, ct).ConfigureAwait(false);
        return done;
    }

    /// <summary>Publishes <see cref="EventTypes.ActionRecorded"/> for a completed action (needs the bus).</summary>
    public async Task AnnounceAsync(AgentAction done, CancellationToken ct)
    {
        var to = bus ?? throw new InvalidOperationException($"the action recorder of {agent} has no bus to announce on");
        await to.PublishAsync(CloudEvent.Create(AgentNames.Source(agent), EventTypes.ActionRecorded, done.Subject, done.CompletedAt ?? time.GetUtcNow(),
            new { actionId = done.Id, kind = done.Kind, status = done.Status, rule = done.Rule, outcome = done.Outcome }), ct).ConfigureAwait(false);
    }
}
