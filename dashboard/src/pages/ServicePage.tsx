import { useEffect, useMemo, useRef, useState } from 'react';
import type { AgentAction, CloudEvent, StatusView } from '../api/types';
import { Chart } from '../components/Chart';
import { FleetTable } from '../components/FleetTable';
import { ActionsTable } from '../components/IncidentTimeline';
import { NotAvailable, ResourceView } from '../components/ResourceView';
import { NotAvailableError } from '../api/client';
import { useApp, useLive, useResource } from '../state/context';
import { useTitle } from '../state/router';
import { serviceOfInstance } from '../state/live';
import { asList } from './list';

interface ScalingDecision {
  service?: string;
  at?: string;
  atUtc?: string;
  from?: number;
  to?: number;
  replicas?: number;
  reason?: string;
}

export function ServicePage({ name }: { name: string }) {
  useTitle(name);
  const live = useLive();
  const mine = (e: CloudEvent) => (e.subject ? e.subject === name || serviceOfInstance(e.subject) === name : false);
  const [status] = useResource<StatusView>('/api/v1/status', { refreshOn: (e) => mine(e) && e.type.startsWith('instance.'), pollMs: 1500 });
  const [actions] = useResource<AgentAction[]>('/api/v1/actions?limit=200', { refreshOn: (e) => e.type === 'action.recorded' });
  const [scaling] = useResource<unknown>('/api/v1/scaling', { liveMs: 15_000, pollMs: 10_000, refreshOn: (e) => e.type === 'scale.decided' });

  // Desired and ready replicas over time, from the status answers this page has seen.
  const history = useRef<{ t: number[]; ready: number[]; desired: number[] }>({ t: [], ready: [], desired: [] });
  const [historyVersion, setHistoryVersion] = useState(0);
  const service = status.kind === 'ok' ? status.data.services.find((s) => s.name === name) : undefined;
  useEffect(() => {
    if (status.kind !== 'ok' || !service) return;
    const h = history.current;
    h.t.push(status.at / 1000);
    h.ready.push(service.ready);
    h.desired.push(service.replicas);
    if (h.t.length > 900) for (const a of [h.t, h.ready, h.desired]) a.shift();
    setHistoryVersion((v) => v + 1);
  }, [status, service]);

  const traffic = live.trafficSeries(name);
  // CPU and memory samples are too many for the event log: only the live stream carries them.
  const noStream = live.state === 'polling' ? 'CPU and memory samples arrive over the live event stream, which is not connected' : undefined;
  const resources = live.resourceSeries(name);
  const replicaSeries = useMemo(() => {
    const h = history.current;
    return { t: [...h.t], ready: [...h.ready], desired: [...h.desired] };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [historyVersion]);

  return (
    <>
      <h1>Service {name}</h1>
      <ResourceView resource={status} what="the service">
        {(s) => {
          const svc = s.services.find((x) => x.name === name);
          if (!svc) return <p className="alert" role="alert">No service is named {name}.</p>;
          return (
            <>
              <ServiceControls name={name} replicas={svc.replicas} />
              <section className="panel"><h2>Instances</h2><FleetTable services={[svc]} /></section>
            </>
          );
        }}
      </ResourceView>
      <section className="panel" aria-labelledby="charts-title">
        <h2 id="charts-title">Over time</h2>
        <p className="note">Collected while this page is open: traffic from <code>traffic.sample</code> events, CPU and memory from the monitor's <code>metric.sample</code> events, replicas from the fleet status.</p>
        <div className="charts">
          <Chart title="Request rate" unit="req/s" t={traffic.t} series={[{ label: 'requests', values: traffic.values.rps, color: '#2563eb' }]} />
          <Chart title="Latency" unit="ms" t={traffic.t} series={[{ label: 'p95', values: traffic.values.p95, color: '#dc2626' }, { label: 'p50', values: traffic.values.p50, color: '#f59e0b' }]} />
          <Chart title="CPU" unit="cores" t={resources.t} series={[{ label: 'cpu', values: resources.values.cpu, color: '#7c3aed' }]} empty={noStream} />
          <Chart title="Memory" unit="MiB" t={resources.t} series={[{ label: 'rss', values: resources.values.memory, color: '#059669' }]} empty={noStream} />
          <Chart title="Replicas" unit="count" t={replicaSeries.t} series={[{ label: 'ready', values: replicaSeries.ready, color: '#059669' }, { label: 'desired', values: replicaSeries.desired, color: '#64748b' }]} />
        </div>
      </section>
      {scaling.kind === 'ok' && <ScalingDecisions decisions={asList<ScalingDecision>(scaling.data, 'decisions').filter((d) => d.service === name)} />}
      <section className="panel" aria-labelledby="actions-title">
        <h2 id="actions-title">Actions</h2>
        <ResourceView resource={actions} what="actions">
          {(all) => <ActionsTable actions={all.filter((a) => a.subject === name || serviceOfInstance(a.subject) === name)} empty="No actions on this service yet." />}
        </ResourceView>
      </section>
    </>
  );
}

function ScalingDecisions({ decisions }: { decisions: ScalingDecision[] }) {
  if (decisions.length === 0) return null;
  return (
    <section className="panel">
      <h2>Scaling decisions</h2>
      <ul className="plain">
        {decisions.slice(0, 10).map((d, i) => (
          <li key={i}>{d.at ?? d.atUtc ?? ''} → {d.to ?? d.replicas} replicas{d.reason ? `: ${d.reason}` : ''}</li>
        ))}
      </ul>
    </section>
  );
}

/** Scale and restart (planned endpoints); a server without them says so instead of failing silently. */
function ServiceControls({ name, replicas }: { name: string; replicas: number }) {
  const { client } = useApp();
  const [count, setCount] = useState(String(replicas));
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [unavailable, setUnavailable] = useState(false);
  const run = async (what: string, call: () => Promise<unknown>) => {
    setMessage(null);
    try {
      await call();
      setMessage({ ok: true, text: `${what}: requested` });
    } catch (e) {
      if (e instanceof NotAvailableError) setUnavailable(true);
      else setMessage({ ok: false, text: e instanceof Error ? e.message : String(e) });
    }
  };
  if (unavailable) return <NotAvailable what="scaling and restarting services" />;
  const base = `/api/v1/services/${encodeURIComponent(name)}`;
  return (
    <section className="panel" aria-label="Service controls">
      <form className="inline-form" onSubmit={(e) => { e.preventDefault(); void run('scale', () => client.post(`${base}/scale`, { replicas: Number(count) })); }}>
        <label>Replicas <input type="number" min={0} max={100} value={count} onChange={(e) => setCount(e.target.value)} /></label>
        <button type="submit">Scale</button>
        <button type="button" onClick={() => void run('restart', () => client.post(`${base}/restart`))}>Rolling restart</button>
      </form>
      {message && <p className={message.ok ? 'success' : 'alert'} role="status">{message.text}</p>}
    </section>
  );
}
