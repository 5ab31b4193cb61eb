import { useState } from 'react';
import type { SecurityAlert, SecurityBlock } from '../api/types';
import { Badge } from '../components/Badge';
import { ResourceView } from '../components/ResourceView';
import { formatDateTime } from '../components/format';
import { useApp, useResource } from '../state/context';
import { useTitle } from '../state/router';
import { asList } from './list';

export function SecurityPage() {
  useTitle('Security');
  const { client } = useApp();
  const [alerts] = useResource<unknown>('/api/v1/security/alerts', { refreshOn: (e) => e.type === 'security.alert', pollMs: 5000 });
  const [blocks, reloadBlocks] = useResource<unknown>('/api/v1/security/blocks', { refreshOn: (e) => e.type === 'security.response', pollMs: 5000 });
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);

  const unblock = async (ip: string) => {
    setMessage(null);
    try {
      await client.delete(`/api/v1/security/blocks/${encodeURIComponent(ip)}`);
      setMessage({ ok: true, text: `${ip} unblocked` });
      reloadBlocks();
    } catch (e) {
      setMessage({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  };

  return (
    <>
      <h1>Security</h1>
      <section className="panel" aria-labelledby="blocks-title">
        <h2 id="blocks-title">Blocked addresses</h2>
        {message && <p className={message.ok ? 'success' : 'alert'} role="status">{message.text}</p>}
        <ResourceView resource={blocks} what="blocks">
          {(data) => {
            const list = asList<SecurityBlock>(data, 'blocks');
            if (list.length === 0) return <p className="note">Nothing is blocked.</p>;
            return (
              <div className="table-wrap">
                <table>
                  <thead><tr><th scope="col">Address</th><th scope="col">Reason</th><th scope="col">Since</th><th scope="col">Until</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
                  <tbody>
                    {list.map((b) => (
                      <tr key={b.ip}>
                        <td><code>{b.ip}</code></td>
                        <td className="reason">{b.reason ?? ''}</td>
                        <td>{formatDateTime(b.createdAt ?? b.since)}</td>
                        <td>{formatDateTime(b.expiresAt ?? b.until)}</td>
                        <td><button type="button" onClick={() => void unblock(b.ip)} aria-label={`Unblock ${b.ip}`}>Unblock</button></td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            );
          }}
        </ResourceView>
      </section>
      <section className="panel" aria-labelledby="alerts-title">
        <h2 id="alerts-title">Alerts</h2>
        <ResourceView resource={alerts} what="security alerts">
          {(data) => {
            const list = asList<SecurityAlert>(data, 'alerts');
            if (list.length === 0) return <p className="note">No alerts.</p>;
            return (
              <div className="table-wrap">
                <table>
                  <thead><tr><th scope="col">Time</th><th scope="col">Kind</th><th scope="col">Severity</th><th scope="col">Source</th><th scope="col">Detail</th></tr></thead>
                  <tbody>
                    {list.map((a, i) => (
                      <tr key={a.id ?? i}>
                        <td>{formatDateTime(a.at ?? a.time ?? a.createdAt)}</td>
                        <td>{a.kind ?? a.type ?? '—'}</td>
                        <td>{a.severity ? <Badge value={a.severity} /> : '—'}</td>
                        <td><code>{a.ip ?? a.source ?? '—'}</code></td>
                        <td className="reason">{a.detail ?? a.summary ?? ''}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            );
          }}
        </ResourceView>
      </section>
    </>
  );
}
