import { useState, type FormEvent } from 'react';
import type { ChaosResult, ServiceStatus } from '../api/types';
import { useApp } from '../state/context';

const faults = [
  { value: 'kill', label: 'Crash (SIGKILL)' },
  { value: 'hang', label: 'Hang (SIGSTOP)' },
  { value: 'leak', label: 'Memory leak (20 MiB/s)' },
  { value: 'cpu', label: 'CPU burn (30 s)' },
];

/** Demo mode only: inject a fault (POST /api/v1/chaos) and watch the healer handle it. */
export function ChaosPanel({ services, onInjected }: { services: ServiceStatus[]; onInjected?: () => void }) {
  const { client } = useApp();
  const [fault, setFault] = useState('kill');
  const [target, setTarget] = useState(services[0]?.name ?? '');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const targets = services.flatMap((s) => [s.name, ...s.instances.map((i) => i.id)]);
  const chosen = targets.includes(target) ? target : (targets[0] ?? '');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setResult(null);
    try {
      const r = await client.post<ChaosResult>('/api/v1/chaos', { fault, target: chosen });
      setResult({ ok: true, text: `${r.fault} → ${r.instanceId}: ${r.detail}` });
      onInjected?.();
    } catch (err) {
      setResult({ ok: false, text: err instanceof Error ? err.message : String(err) });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel chaos" aria-labelledby="chaos-title">
      <h2 id="chaos-title">Chaos <span className="tag">demo</span></h2>
      <form onSubmit={submit} className="inline-form">
        <label>
          Fault
          <select name="fault" value={fault} onChange={(e) => setFault(e.target.value)}>
            {faults.map((f) => <option key={f.value} value={f.value}>{f.label}</option>)}
          </select>
        </label>
        <label>
          Target
          <select name="target" value={chosen} onChange={(e) => setTarget(e.target.value)}>
            {targets.map((t) => <option key={t} value={t}>{t}</option>)}
          </select>
        </label>
        <button type="submit" className="danger" disabled={busy || !chosen}>{busy ? 'Injecting…' : 'Inject fault'}</button>
      </form>
      {result && <p className={result.ok ? 'success' : 'alert'} role={result.ok ? 'status' : 'alert'}>{result.text}</p>}
    </section>
  );
}
