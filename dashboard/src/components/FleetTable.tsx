import type { ServiceStatus } from '../api/types';
import { linkProps } from '../state/router';
import { Badge } from './Badge';
import { ago } from './format';

/**
 * Every service with its replicas (ready / desired) and instances, their state, pid, port and restarts. A quarantined
 * instance carries a second badge: it still runs (its state says how) but gets no traffic from its load balancer.
 */
export function FleetTable({ services, now = Date.now() }: { services: ServiceStatus[]; now?: number }) {
  if (services.length === 0) {
    return (
      <div className="empty" role="status">
        <strong>No services yet.</strong>
        <p>Start a fleet with <code>autonomic up</code>; its services appear here as they start.</p>
      </div>
    );
  }
  return (
    <div className="table-wrap">
      <table className="fleet">
        <caption className="sr-only">Services and their instances</caption>
        <thead>
          <tr>
            <th scope="col">Service / instance</th>
            <th scope="col">State</th>
            <th scope="col">Ready</th>
            <th scope="col" className="num">Restarts</th>
            <th scope="col" className="num">PID</th>
            <th scope="col" className="num">Port</th>
            <th scope="col">Since</th>
            <th scope="col">Reason</th>
          </tr>
        </thead>
        {services.map((s) => {
          const healthy = s.ready >= s.replicas && s.replicas > 0;
          const restarts = s.instances.reduce((n, i) => n + i.restarts, 0);
          return (
            <tbody key={s.name} data-service={s.name}>
              <tr className="service-row">
                <th scope="row">
                  <a {...linkProps(`/services/${encodeURIComponent(s.name)}`)}>{s.name}</a>
                </th>
                <td>
                  <Badge value={s.replicas === 0 ? 'stopped' : healthy ? 'healthy' : 'degraded'} tone={s.replicas === 0 ? 'muted' : healthy ? 'ok' : 'warn'} />
                </td>
                <td>
                  <span className="replicas" aria-label={`${s.ready} of ${s.replicas} replicas ready`}>
                    {s.ready}/{s.replicas}
                  </span>
                </td>
                <td className="num">{restarts}</td>
                <td colSpan={4} />
              </tr>
              {s.instances.map((i) => (
                <tr key={i.id} className="instance-row" data-instance={i.id} data-state={i.state}>
                  <td className="indent">{i.id}</td>
                  <td>
                    <Badge value={i.state} />
                    {i.quarantined && <> <Badge value="quarantined" tone="bad" /></>}
                  </td>
                  <td>{i.state === 'ready' ? 'yes' : 'no'}</td>
                  <td className="num">{i.restarts}</td>
                  <td className="num">{i.pid ?? '—'}</td>
                  <td className="num">{i.port ?? '—'}</td>
                  <td>{ago(i.readySince ?? i.startedAt ?? i.updatedAt, now)}</td>
                  <td className="reason">{i.reason ?? ''}</td>
                </tr>
              ))}
            </tbody>
          );
        })}
      </table>
    </div>
  );
}
