import type { AgentAction, Incident } from '../api/types';
import { linkProps } from '../state/router';
import { Badge } from './Badge';
import { formatDateTime, formatMs, formatTime } from './format';

/** Incidents newest first: cause, where, status, time to detect and to mitigate; each links to its detail. */
export function IncidentTimeline({ incidents, selectedId }: { incidents: Incident[]; selectedId?: string }) {
  if (incidents.length === 0) {
    return (
      <div className="empty" role="status">
        <strong>No incidents.</strong>
        <p>When an instance crashes, hangs or leaks, the incident and how it was handled appear here.</p>
      </div>
    );
  }
  return (
    <ol className="timeline" aria-label="Incidents, newest first">
      {incidents.map((i) => (
        <li key={i.id} className={`timeline-item status-${i.status}${i.id === selectedId ? ' selected' : ''}`} data-incident={i.id} data-status={i.status}>
          <span className="dot" aria-hidden="true" />
          <a className="incident-link" {...linkProps(`/incidents/${encodeURIComponent(i.id)}`)} aria-current={i.id === selectedId ? 'true' : undefined}>
            <span className="incident-head">
              <strong className="cause">{i.cause.replace(/_/g, ' ')}</strong>
              <span className="where">{i.instanceId ?? i.service}</span>
              <Badge value={i.status} />
              {i.needsHuman && <Badge value="needs a human" tone="bad" />}
            </span>
            <span className="incident-meta">
              <time dateTime={i.failedAt}>{formatTime(i.failedAt)}</time>
              <span>detected in <strong>{formatMs(i.timeToDetectMs)}</strong></span>
              <span>mitigated in <strong>{i.timeToMitigateMs == null ? '…' : formatMs(i.timeToMitigateMs)}</strong></span>
            </span>
            {i.summary && <span className="summary">{i.summary}</span>}
          </a>
        </li>
      ))}
    </ol>
  );
}

/** One incident: its phases on a line, the evidence, and every action with its rule, reason and outcome. */
export function IncidentDetail({ incident }: { incident: Incident }) {
  const phases: { label: string; at?: string }[] = [
    { label: 'failed', at: incident.failedAt },
    { label: 'detected', at: incident.detectedAt },
    { label: 'mitigated', at: incident.mitigatedAt },
    { label: 'resolved', at: incident.resolvedAt },
  ];
  const evidence = Object.entries(incident.evidence ?? {});
  return (
    <article className="incident-detail" aria-labelledby="incident-title">
      <header>
        <h2 id="incident-title">
          <span className="cause">{incident.cause.replace(/_/g, ' ')}</span> in <code>{incident.instanceId ?? incident.service}</code> <Badge value={incident.status} />
        </h2>
        {incident.summary && <p>{incident.summary}</p>}
      </header>
      <ol className="phases" aria-label="Phases">
        {phases.map((p) => (
          <li key={p.label} className={p.at ? 'done' : 'pending'}>
            <span className="phase-label">{p.label}</span>
            <time dateTime={p.at}>{p.at ? formatTime(p.at) : '—'}</time>
          </li>
        ))}
      </ol>
      <dl className="stats">
        <div><dt>Time to detect</dt><dd>{formatMs(incident.timeToDetectMs)}</dd></div>
        <div><dt>Time to mitigate</dt><dd>{incident.timeToMitigateMs == null ? 'not yet' : formatMs(incident.timeToMitigateMs)}</dd></div>
        <div><dt>Service</dt><dd><a {...linkProps(`/services/${encodeURIComponent(incident.service)}`)}>{incident.service}</a></dd></div>
        <div><dt>Failed at</dt><dd>{formatDateTime(incident.failedAt)}</dd></div>
      </dl>
      <h3>Evidence</h3>
      {evidence.length === 0 ? (
        <p className="note">No evidence recorded.</p>
      ) : (
        <dl className="evidence">
          {evidence.map(([k, v]) => (
            <div key={k}><dt>{k}</dt><dd>{v}</dd></div>
          ))}
        </dl>
      )}
      <h3>Actions</h3>
      <ActionsTable actions={incident.actions ?? []} />
    </article>
  );
}

/** The audit trail: who did what, by which rule, why, and how it ended. */
export function ActionsTable({ actions, empty = 'No actions recorded.' }: { actions: AgentAction[]; empty?: string }) {
  if (actions.length === 0) return <p className="note">{empty}</p>;
  return (
    <div className="table-wrap">
      <table className="actions">
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Agent</th>
            <th scope="col">Action</th>
            <th scope="col">Subject</th>
            <th scope="col">Status</th>
            <th scope="col">Reason and rule</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {actions.map((a) => (
            <tr key={a.id}>
              <td><time dateTime={a.createdAt}>{formatTime(a.createdAt)}</time></td>
              <td>{a.agent}</td>
              <td><strong>{a.kind}</strong></td>
              <td>{a.subject}</td>
              <td><Badge value={a.status} /></td>
              <td className="reason">
                {a.reason}
                <br />
                <code>{a.rule}</code>
                {a.evidence && Object.keys(a.evidence).length > 0 && (
                  <details>
                    <summary>evidence</summary>
                    <dl className="evidence compact">
                      {Object.entries(a.evidence).map(([k, v]) => (
                        <div key={k}><dt>{k}</dt><dd>{v}</dd></div>
                      ))}
                    </dl>
                  </details>
                )}
              </td>
              <td className="reason">{a.outcome ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
