import type { CloudEvent, StatusView } from '../api/types';
import { Badge } from '../components/Badge';
import { ChaosPanel } from '../components/ChaosPanel';
import { FleetTable } from '../components/FleetTable';
import { ResourceView } from '../components/ResourceView';
import { formatTime } from '../components/format';
import { useApp, useLive, useResource } from '../state/context';
import { useTitle } from '../state/router';

const fleetEvents = (e: CloudEvent) => e.type.startsWith('instance.') || e.type.startsWith('incident.') || e.type.startsWith('probe.') || e.type.startsWith('service.') || e.type === 'scale.decided';

export function FleetPage() {
  useTitle('Fleet');
  const { info } = useApp();
  const [status, reload] = useResource<StatusView>('/api/v1/status', { refreshOn: fleetEvents, pollMs: 1500 });
  return (
    <>
      <h1>Fleet</h1>
      <ResourceView resource={status} what="the fleet">
        {(s) => {
          const instances = s.services.flatMap((x) => x.instances);
          const ready = instances.filter((i) => i.state === 'ready').length;
          const restarts = instances.reduce((n, i) => n + i.restarts, 0);
          return (
            <>
              <dl className="cards">
                <div><dt>Services</dt><dd>{s.services.length}</dd></div>
                <div><dt>Instances ready</dt><dd data-testid="ready-count">{ready}/{instances.length}</dd></div>
                <div className={s.incidentsOpen > 0 ? 'card-bad' : ''}><dt>Open incidents</dt><dd data-testid="open-incidents">{s.incidentsOpen}</dd></div>
                <div><dt>Restarts</dt><dd>{restarts}</dd></div>
              </dl>
              {info?.demo && <ChaosPanel services={s.services} onInjected={reload} />}
              <section className="panel" aria-labelledby="services-title">
                <h2 id="services-title">Services and instances</h2>
                <FleetTable services={s.services} />
              </section>
            </>
          );
        }}
      </ResourceView>
      <RecentEvents />
    </>
  );
}

function RecentEvents() {
  const live = useLive();
  const events = live.events.filter((e) => e.type !== 'metric.sample' && e.type !== 'traffic.sample' && e.type !== 'gateway.access').slice(0, 12);
  return (
    <section className="panel" aria-labelledby="events-title">
      <h2 id="events-title">Recent events</h2>
      {events.length === 0 ? (
        <p className="note">No events yet.</p>
      ) : (
        <ul className="events">
          {events.map((e) => (
            <li key={e.id}>
              <time dateTime={e.time}>{formatTime(e.time)}</time>
              <Badge value={e.type} tone={e.type.includes('fail') || e.type.includes('exited') || e.type.includes('opened') ? 'bad' : 'muted'} />
              <span>{e.subject ?? ''}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
