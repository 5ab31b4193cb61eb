import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/client';
import type { AgentAction, BlockRecord, BlockRequest, BlockView, QuarantineRequest, ResponseRecord, ResponseView, SecurityAlert } from '../api/types';
import { Badge } from '../components/Badge';
import { ListTable } from '../components/ListTable';
import { formatDateTime } from '../components/format';
import { useApp, useResource } from '../state/context';
import { useTitle } from '../state/router';

type Message = { ok: boolean; text: string } | null;

const onAlert = (e: { type: string }) => e.type === 'security.alert';
const onResponse = (e: { type: string }) => e.type === 'security.response';
const onEither = (e: { type: string }) => onAlert(e) || onResponse(e);

/** What an action's failure says: the problem's detail when the API gave one, else the error's own message. */
function errorText(e: unknown): string {
  if (e instanceof ApiError) return e.detail ?? e.title;
  return e instanceof Error ? e.message : String(e);
}

/** Runs one action at a time and keeps its outcome for a status line. */
function useAction(): [Message, boolean, (run: () => Promise<string>) => Promise<boolean>] {
  const [message, setMessage] = useState<Message>(null);
  const [busy, setBusy] = useState(false);
  const act = async (run: () => Promise<string>) => {
    setBusy(true);
    setMessage(null);
    try {
      setMessage({ ok: true, text: await run() });
      return true;
    } catch (e) {
      setMessage({ ok: false, text: errorText(e) });
      return false;
    } finally {
      setBusy(false);
    }
  };
  return [message, busy, act];
}

function Outcome({ message }: { message: Message }) {
  if (!message) return null;
  return <p className={message.ok ? 'success' : 'alert'} role={message.ok ? 'status' : 'alert'}>{message.text}</p>;
}

/** Dry-run responses are recorded but not enforced: say so beside the rule. */
function Rule({ rule, enforced }: { rule: string; enforced: boolean }) {
  return (
    <>
      <code>{rule}</code>
      {!enforced && <> <Badge value="dry run" tone="muted" /></>}
    </>
  );
}

function Evidence({ lines }: { lines: string[] | undefined }) {
  if (!lines || lines.length === 0) return null;
  return (
    <details className="evidence-lines">
      <summary>{lines.length === 1 ? '1 evidence line' : `${lines.length} evidence lines`}</summary>
      <ul className="plain">
        {lines.map((line, i) => <li key={i}><code>{line}</code></li>)}
      </ul>
    </details>
  );
}

/**
 * A response taken by hand: the target (an address or an instance), for how long and why. `submit` gets the trimmed
 * values (empty ones left to the server's defaults) and answers whether it worked; the form clears then, and keeps
 * what was typed otherwise, to be corrected.
 */
function ByHandForm({ label, field, name, placeholder, button, busy, submit }: {
  label: string;
  field: string;
  name: string;
  placeholder: string;
  button: string;
  busy: boolean;
  submit: (target: string, duration: string, reason: string) => Promise<boolean>;
}) {
  const [target, setTarget] = useState('');
  const [duration, setDuration] = useState('30m');
  const [reason, setReason] = useState('');
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    if (await submit(target.trim(), duration.trim(), reason.trim())) {
      setTarget('');
      setReason('');
    }
  };
  return (
    <form onSubmit={(e) => void onSubmit(e)} className="inline-form" aria-label={label}>
      <label>
        {field}
        <input name={name} value={target} onChange={(e) => setTarget(e.target.value)} placeholder={placeholder} autoComplete="off" />
      </label>
      <label>
        For
        <input name="for" value={duration} onChange={(e) => setDuration(e.target.value)} placeholder="30m" size={6} autoComplete="off" />
      </label>
      <label>
        Reason
        <input name="reason" value={reason} onChange={(e) => setReason(e.target.value)} placeholder="optional" autoComplete="off" />
      </label>
      <button type="submit" disabled={busy || target.trim() === ''}>{button}</button>
    </form>
  );
}

export function SecurityPage() {
  useTitle('Security');
  const { client } = useApp();
  const [alerts] = useResource<unknown>('/api/v1/security/alerts?limit=100', { refreshOn: onAlert, pollMs: 5000 });
  const [blocks, reloadBlocks] = useResource<unknown>('/api/v1/security/blocks', { refreshOn: onResponse, pollMs: 5000 });
  const [rateLimits, reloadRateLimits] = useResource<unknown>('/api/v1/security/rate-limits', { refreshOn: onResponse, pollMs: 5000 });
  const [quarantines, reloadQuarantines] = useResource<unknown>('/api/v1/security/quarantines', { refreshOn: onResponse, pollMs: 5000 });
  const [actions, reloadActions] = useResource<unknown>('/api/v1/audit?agent=security&limit=50', { refreshOn: onEither, pollMs: 5000 });
  const [blockMessage, blockBusy, actOnBlock] = useAction();
  const [limitMessage, limitBusy, actOnLimit] = useAction();
  const [quarantineMessage, quarantineBusy, actOnQuarantine] = useAction();

  const unblock = (ip: string) =>
    actOnBlock(async () => {
      await client.delete(`/api/v1/security/blocks/${encodeURIComponent(ip)}`);
      reloadBlocks();
      reloadActions();
      return `${ip} unblocked`;
    });

  const liftRateLimit = (ip: string) =>
    actOnLimit(async () => {
      await client.delete(`/api/v1/security/rate-limits/${encodeURIComponent(ip)}`);
      reloadRateLimits();
      reloadActions();
      return `rate limit of ${ip} lifted`;
    });

  const release = (id: string) =>
    actOnQuarantine(async () => {
      await client.delete(`/api/v1/security/quarantines/${encodeURIComponent(id)}`);
      reloadQuarantines();
      reloadActions();
      return `${id} released`;
    });

  const quarantine = (target: string, duration: string, reason: string) =>
    actOnQuarantine(async () => {
      const body: QuarantineRequest = { instance: target };
      if (duration) body.for = duration;
      if (reason) body.reason = reason;
      const r = await client.post<ResponseRecord>('/api/v1/security/quarantines', body);
      reloadQuarantines();
      reloadActions();
      return `${r.target} quarantined until ${formatDateTime(r.until)}`;
    });

  const block = (target: string, duration: string, reason: string) =>
    actOnBlock(async () => {
      const body: BlockRequest = { ip: target };
      if (duration) body.for = duration;
      if (reason) body.reason = reason;
      const b = await client.post<BlockRecord>('/api/v1/security/blocks', body);
      reloadBlocks();
      reloadActions();
      return `${b.ip} blocked until ${formatDateTime(b.until)}`;
    });

  return (
    <>
      <h1>Security</h1>
      <section className="panel" aria-labelledby="blocks-title">
        <h2 id="blocks-title">Blocked addresses</h2>
        <ByHandForm label="Block an address" field="Address" name="ip" placeholder="203.0.113.7" button="Block" busy={blockBusy} submit={block} />
        <Outcome message={blockMessage} />
        <ListTable<BlockView>
          resource={blocks}
          what="blocks"
          listKey="blocks"
          empty="Nothing is blocked."
          className="security-blocks"
          columns={[{ label: 'Address' }, { label: 'Rule' }, { label: 'Reason' }, { label: 'Since' }, { label: 'Until' }, { label: 'Count', className: 'num' }, { label: <span className="sr-only">Actions</span> }]}
          row={({ block: b, inForce }) => (
            <tr key={b.ip} data-ip={b.ip}>
              <td><code>{b.ip}</code></td>
              <td><Rule rule={b.rule} enforced={inForce} /></td>
              <td className="reason">{b.reason}<Evidence lines={b.evidence} /></td>
              <td>{formatDateTime(b.since)}</td>
              <td>{formatDateTime(b.until)}</td>
              <td className="num">{b.count}</td>
              <td><button type="button" disabled={blockBusy} onClick={() => void unblock(b.ip)} aria-label={`Unblock ${b.ip}`}>Unblock</button></td>
            </tr>
          )}
        />
      </section>
      <section className="panel" aria-labelledby="rate-limits-title">
        <h2 id="rate-limits-title">Rate limits</h2>
        <Outcome message={limitMessage} />
        <ListTable<ResponseView>
          resource={rateLimits}
          what="rate limits"
          listKey="rateLimits"
          empty="No address is rate-limited."
          className="security-rate-limits"
          columns={[{ label: 'Address' }, { label: 'Limit/s', className: 'num' }, { label: 'Rule' }, { label: 'Reason' }, { label: 'Until' }, { label: <span className="sr-only">Actions</span> }]}
          row={({ response: r, inForce }) => (
            <tr key={r.target} data-target={r.target}>
              <td><code>{r.target}</code></td>
              <td className="num">{r.requestsPerSecond ?? '—'}</td>
              <td><Rule rule={r.rule} enforced={inForce} /></td>
              <td className="reason">{r.reason}<Evidence lines={r.evidence} /></td>
              <td>{formatDateTime(r.until)}</td>
              <td><button type="button" disabled={limitBusy} onClick={() => void liftRateLimit(r.target)} aria-label={`Lift the rate limit of ${r.target}`}>Lift</button></td>
            </tr>
          )}
        />
      </section>
      <section className="panel" aria-labelledby="quarantines-title">
        <h2 id="quarantines-title">Quarantined instances</h2>
        <p className="note">A quarantined instance keeps running but gets no traffic from the load balancer.</p>
        <ByHandForm label="Quarantine an instance" field="Instance" name="instance" placeholder="web-0" button="Quarantine" busy={quarantineBusy} submit={quarantine} />
        <Outcome message={quarantineMessage} />
        <ListTable<ResponseView>
          resource={quarantines}
          what="quarantines"
          listKey="quarantines"
          empty="No instance is quarantined."
          className="security-quarantines"
          columns={[{ label: 'Instance' }, { label: 'Rule' }, { label: 'By' }, { label: 'Reason' }, { label: 'Until' }, { label: <span className="sr-only">Actions</span> }]}
          row={({ response: r, inForce }) => (
            <tr key={r.target} data-target={r.target}>
              <td><code>{r.target}</code></td>
              <td><Rule rule={r.rule} enforced={inForce} /></td>
              <td>{r.by}</td>
              <td className="reason">{r.reason}<Evidence lines={r.evidence} /></td>
              <td>{formatDateTime(r.until)}</td>
              <td><button type="button" disabled={quarantineBusy} onClick={() => void release(r.target)} aria-label={`Release ${r.target}`}>Release</button></td>
            </tr>
          )}
        />
      </section>
      <section className="panel" aria-labelledby="alerts-title">
        <h2 id="alerts-title">Alerts</h2>
        <ListTable<SecurityAlert>
          resource={alerts}
          what="security alerts"
          listKey="alerts"
          empty="No alerts."
          className="security-alerts"
          columns={[{ label: 'Time' }, { label: 'Rule' }, { label: 'Class' }, { label: 'Severity' }, { label: 'Source' }, { label: 'Response' }, { label: 'Reason' }]}
          row={(a) => (
            <tr key={a.id} data-rule={a.rule}>
              <td>{formatDateTime(a.time)}</td>
              <td><code>{a.rule}</code></td>
              <td>{a.class.replace(/_/g, ' ')}</td>
              <td><Badge value={a.severity} /></td>
              <td className="source">{source(a)}</td>
              <td>{a.response === 'none' ? '—' : a.response.replace(/_/g, ' ')}</td>
              <td className="reason">{a.reason}<Evidence lines={a.evidence} /></td>
            </tr>
          )}
        />
      </section>
      <section className="panel" aria-labelledby="security-actions-title">
        <h2 id="security-actions-title">Actions</h2>
        <ListTable<AgentAction>
          resource={actions}
          what="security actions"
          listKey="actions"
          empty="The security agent has taken no action."
          className="security-actions"
          columns={[{ label: 'Time' }, { label: 'Action' }, { label: 'Subject' }, { label: 'Rule' }, { label: 'Status' }, { label: 'Outcome' }]}
          row={(a) => (
            <tr key={a.id}>
              <td>{formatDateTime(a.createdAt)}</td>
              <td>{a.kind.replace(/_/g, ' ')}</td>
              <td><code>{a.subject}</code></td>
              <td><code>{a.rule}</code></td>
              <td><Badge value={a.status} /></td>
              <td className="reason">{a.outcome ?? a.reason}</td>
            </tr>
          )}
        />
      </section>
    </>
  );
}

/** Where an alert came from: the client address, else the instance (log alerts), else the API key. */
function source(a: SecurityAlert) {
  if (a.sourceIp) return <code>{a.sourceIp}</code>;
  if (a.instance) return <>instance <code>{a.instance}</code></>;
  if (a.keyId) return <>key <code>{a.keyId}</code></>;
  return '—';
}
