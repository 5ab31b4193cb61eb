import { useRef, useState, type FormEvent } from 'react';
import type { ObjectItem, TaskItem } from '../api/types';
import { Badge } from '../components/Badge';
import { ResourceView } from '../components/ResourceView';
import { UploadProgress, type UploadState } from '../components/UploadProgress';
import { formatBytes, formatDateTime } from '../components/format';
import { uploadObject } from '../components/upload';
import { useApp, useResource } from '../state/context';
import { useTitle } from '../state/router';
import { asList } from './list';

export function TasksPage() {
  useTitle('Tasks and objects');
  const [tasks] = useResource<unknown>('/api/v1/tasks', { refreshOn: (e) => e.type.startsWith('task.') });
  const [stats] = useResource<Record<string, unknown>>('/api/v1/tasks/stats', { refreshOn: (e) => e.type.startsWith('task.') });
  return (
    <>
      <h1>Tasks and objects</h1>
      <section className="panel" aria-labelledby="tasks-title">
        <h2 id="tasks-title">Tasks</h2>
        {stats.kind === 'ok' && (
          <dl className="cards small">
            {Object.entries(stats.data).filter(([, v]) => typeof v === 'number').map(([k, v]) => (
              <div key={k}><dt>{k}</dt><dd>{String(v)}</dd></div>
            ))}
          </dl>
        )}
        <ResourceView resource={tasks} what="tasks">
          {(data) => {
            const list = asList<TaskItem>(data, 'tasks');
            if (list.length === 0) return <p className="note">No tasks.</p>;
            return (
              <div className="table-wrap">
                <table>
                  <thead><tr><th scope="col">Task</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col" className="num">Attempts</th><th scope="col">Created</th><th scope="col">Finished</th><th scope="col">Error</th></tr></thead>
                  <tbody>
                    {list.map((t) => (
                      <tr key={t.id}>
                        <td><code>{t.id}</code></td>
                        <td>{t.kind ?? t.type ?? '—'}</td>
                        <td><Badge value={t.status ?? t.state ?? 'unknown'} /></td>
                        <td className="num">{t.attempts ?? '—'}</td>
                        <td>{formatDateTime(t.createdAt)}</td>
                        <td>{formatDateTime(t.completedAt)}</td>
                        <td className="reason">{t.error ?? ''}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            );
          }}
        </ResourceView>
      </section>
      <Objects />
    </>
  );
}

function Objects() {
  const { client } = useApp();
  const [stores] = useResource<unknown>('/api/v1/objects', { liveMs: 30_000, pollMs: 10_000 });
  const storeNames = stores.kind === 'ok' ? asList<string | { name: string }>(stores.data, 'stores').map((s) => (typeof s === 'string' ? s : s.name)) : [];
  const [store, setStore] = useState('');
  const [prefix, setPrefix] = useState('');
  const current = store || storeNames[0] || '';
  const [objects, reloadObjects] = useResource<unknown>(current ? `/api/v1/objects/${encodeURIComponent(current)}?prefix=${encodeURIComponent(prefix)}` : null, { liveMs: 15_000, pollMs: 5000 });

  const [upload, setUpload] = useState<{ name: string; loaded: number; total: number; state: UploadState; error?: string }>({ name: '', loaded: 0, total: 0, state: 'idle' });
  const abort = useRef<(() => void) | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const [key, setKey] = useState('');

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const file = fileInput.current?.files?.[0];
    const target = (e.currentTarget as HTMLFormElement).elements.namedItem('store') as HTMLInputElement;
    const storeName = target.value.trim();
    if (!file || !storeName) return;
    const objectKey = key.trim() || `${prefix}${file.name}`;
    setUpload({ name: objectKey, loaded: 0, total: file.size, state: 'uploading' });
    const { done, abort: cancel } = uploadObject({
      store: storeName,
      key: objectKey,
      file,
      apiKey: client.key,
      onProgress: (p) => setUpload((u) => ({ ...u, loaded: p.loaded, total: p.total })),
    });
    abort.current = cancel;
    try {
      await done;
      setUpload((u) => ({ ...u, loaded: u.total, state: 'done' }));
      reloadObjects();
    } catch (err) {
      setUpload((u) => ({ ...u, state: 'failed', error: err instanceof Error ? err.message : String(err) }));
    } finally {
      abort.current = null;
    }
  };

  return (
    <section className="panel" aria-labelledby="objects-title">
      <h2 id="objects-title">Objects</h2>
      <form className="inline-form" onSubmit={submit} aria-label="Upload a file">
        <label>Store <input name="store" list="store-names" defaultValue={current} key={current} required /></label>
        <datalist id="store-names">{storeNames.map((s) => <option key={s} value={s} />)}</datalist>
        <label>Key <input value={key} onChange={(e) => setKey(e.target.value)} placeholder="the file's name" /></label>
        <label>File <input type="file" ref={fileInput} required /></label>
        <button type="submit" className="primary" disabled={upload.state === 'uploading'}>Upload</button>
        {upload.state === 'uploading' && <button type="button" onClick={() => abort.current?.()}>Cancel</button>}
      </form>
      <UploadProgress {...upload} />
      {stores.kind === 'unavailable' ? (
        <ResourceView resource={stores} what="object stores">{() => null}</ResourceView>
      ) : (
        <>
          <div className="inline-form">
            {storeNames.length > 1 && (
              <label>Browse store
                <select value={current} onChange={(e) => setStore(e.target.value)}>
                  {storeNames.map((s) => <option key={s}>{s}</option>)}
                </select>
              </label>
            )}
            <label>Prefix <input value={prefix} onChange={(e) => setPrefix(e.target.value)} placeholder="e.g. reports/" /></label>
          </div>
          {current && (
            <ResourceView resource={objects} what="objects">
              {(data) => {
                const list = asList<ObjectItem>(data, 'objects');
                if (list.length === 0) return <p className="note">No objects{prefix ? ` under ${prefix}` : ''}.</p>;
                return (
                  <div className="table-wrap">
                    <table>
                      <thead><tr><th scope="col">Key</th><th scope="col" className="num">Size</th><th scope="col">Type</th><th scope="col">Modified</th></tr></thead>
                      <tbody>
                        {list.map((o) => (
                          <tr key={o.key}><td><code>{o.key}</code></td><td className="num">{formatBytes(o.size)}</td><td>{o.contentType ?? '—'}</td><td>{formatDateTime(o.lastModified ?? o.modifiedAt)}</td></tr>
                        ))}
                      </tbody>
                    </table>
                  </div>
                );
              }}
            </ResourceView>
          )}
        </>
      )}
    </section>
  );
}
