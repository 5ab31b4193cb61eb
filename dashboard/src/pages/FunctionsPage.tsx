import { useState, type FormEvent } from 'react';
import type { FunctionItem, InvokeResult } from '../api/types';
import { Badge } from '../components/Badge';
import { ResourceView } from '../components/ResourceView';
import { formatMs } from '../components/format';
import { useApp, useResource } from '../state/context';
import { useTitle } from '../state/router';
import { asList } from './list';

export function FunctionsPage() {
  useTitle('Functions');
  const [functions] = useResource<unknown>('/api/v1/functions', { liveMs: 30_000, pollMs: 10_000 });
  const [selected, setSelected] = useState<string | null>(null);
  return (
    <>
      <h1>Functions</h1>
      <div className="split">
        <section className="panel" aria-labelledby="functions-title">
          <h2 id="functions-title">Deployed</h2>
          <ResourceView resource={functions} what="functions">
            {(data) => {
              const list = asList<FunctionItem>(data, 'functions');
              if (list.length === 0) return <p className="note">No functions deployed.</p>;
              return (
                <ul className="picklist">
                  {list.map((f) => (
                    <li key={f.name}>
                      <button type="button" aria-pressed={selected === f.name} onClick={() => setSelected(f.name)}>
                        <strong>{f.name}</strong>
                        <span className="note">{[f.runtime, f.description].filter(Boolean).join(' · ')}</span>
                      </button>
                    </li>
                  ))}
                </ul>
              );
            }}
          </ResourceView>
        </section>
        {selected && <Invoke key={selected} name={selected} />}
      </div>
    </>
  );
}

function Invoke({ name }: { name: string }) {
  const { client } = useApp();
  const [input, setInput] = useState('{}');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [result, setResult] = useState<{ body: InvokeResult; elapsedMs: number } | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    let payload: unknown;
    try {
      payload = JSON.parse(input);
    } catch (err) {
      setError(`The input is not JSON: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    setBusy(true);
    setError(null);
    const started = performance.now();
    try {
      const body = await client.post<InvokeResult>(`/api/v1/functions/${encodeURIComponent(name)}/invoke`, payload);
      setResult({ body: body ?? {}, elapsedMs: performance.now() - started });
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const cold = result ? (result.body.cold ?? result.body.coldStart) : undefined;
  return (
    <section className="panel" aria-labelledby="invoke-title">
      <h2 id="invoke-title">Invoke {name}</h2>
      <form onSubmit={submit} className="stack">
        <label htmlFor="invoke-input">Input (JSON)</label>
        <textarea id="invoke-input" rows={8} spellCheck={false} value={input} onChange={(e) => setInput(e.target.value)} />
        <button type="submit" className="primary" disabled={busy}>{busy ? 'Running…' : 'Invoke'}</button>
      </form>
      {error && <p className="alert" role="alert">{error}</p>}
      {result && (
        <div className="result" role="status">
          <p>
            {cold !== undefined && <Badge value={cold ? 'cold' : 'warm'} />}{' '}
            ran in <strong>{formatMs(result.body.durationMs ?? null)}</strong> (round trip {formatMs(result.elapsedMs)})
          </p>
          <pre>{JSON.stringify(result.body.result ?? result.body.output ?? result.body, null, 2)}</pre>
        </div>
      )}
    </section>
  );
}
