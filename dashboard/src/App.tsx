import { useCallback, useEffect, useMemo, useState, useSyncExternalStore } from 'react';
import { ApiClient, NotAvailableError } from './api/client';
import { openStream } from './api/sse';
import type { CloudEvent, ServerInfo } from './api/types';
import { Badge } from './components/Badge';
import { KEY_STORAGE, SignIn } from './components/SignIn';
import { FleetPage } from './pages/FleetPage';
import { FunctionsPage } from './pages/FunctionsPage';
import { IncidentsPage } from './pages/IncidentsPage';
import { SecurityPage } from './pages/SecurityPage';
import { ServicePage } from './pages/ServicePage';
import { TasksPage } from './pages/TasksPage';
import { AppContext, type AppServices } from './state/context';
import { LiveStore } from './state/live';
import { linkProps, usePath } from './state/router';

const nav = [
  { path: '/', label: 'Fleet' },
  { path: '/incidents', label: 'Incidents' },
  { path: '/security', label: 'Security' },
  { path: '/tasks', label: 'Tasks & objects' },
  { path: '/functions', label: 'Functions' },
];

type Boot = { kind: 'loading' } | { kind: 'ready'; info: ServerInfo | null } | { kind: 'error'; message: string };

export function App() {
  const [boot, setBoot] = useState<Boot>({ kind: 'loading' });
  const [key, setKey] = useState<string | null>(() => sessionStorage.getItem(KEY_STORAGE));
  const [signInMessage, setSignInMessage] = useState<string | undefined>();
  const [forceSignIn, setForceSignIn] = useState(false);

  useEffect(() => {
    new ApiClient({ key: null })
      .get<ServerInfo>('/api/v1/info')
      .then((info) => setBoot({ kind: 'ready', info }))
      .catch((e: unknown) => {
        // An older control plane without /api/v1/info: carry on; a 401 later still leads to sign-in.
        if (e instanceof NotAvailableError) setBoot({ kind: 'ready', info: null });
        else setBoot({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
      });
  }, []);

  const signOut = useCallback((message?: string) => {
    sessionStorage.removeItem(KEY_STORAGE);
    setKey(null);
    setSignInMessage(message);
    setForceSignIn(true);
  }, []);

  if (boot.kind === 'loading') return <p className="note boot" role="status">Connecting to the control plane…</p>;
  if (boot.kind === 'error') return <p className="alert boot" role="alert">The control plane did not answer: {boot.message}</p>;
  const needsKey = boot.info?.auth === 'keys' || forceSignIn;
  if (needsKey && !key) {
    return <SignIn message={signInMessage} onSignedIn={(k) => { setKey(k); setSignInMessage(undefined); }} />;
  }
  return <Shell key={key ?? 'anonymous'} apiKey={key} info={boot.info} signOut={signOut} />;
}

function Shell({ apiKey, info, signOut }: { apiKey: string | null; info: ServerInfo | null; signOut: (message?: string) => void }) {
  const live = useMemo(() => new LiveStore(), []);
  const client = useMemo(
    () => new ApiClient({ key: apiKey, onUnauthorized: () => signOut('Your key was not accepted; sign in again.') }),
    [apiKey, signOut],
  );
  const services = useMemo<AppServices>(() => ({ client, live, info }), [client, live, info]);
  useLiveEvents(client, live, apiKey, signOut);
  const path = usePath();
  const state = useSyncExternalStore(live.subscribe, () => live.state);

  return (
    <AppContext.Provider value={services}>
      <a className="skip" href="#main">Skip to content</a>
      <header className="topbar">
        <a className="brand" {...linkProps('/')}><span className="logo" aria-hidden="true" /> Autonomic</a>
        <nav aria-label="Main">
          <ul>
            {nav.map((n) => {
              const current = n.path === '/' ? path === '/' || path.startsWith('/services/') : path.startsWith(n.path);
              return (
                <li key={n.path}>
                  <a {...linkProps(n.path)} aria-current={current ? 'page' : undefined}>{n.label}</a>
                </li>
              );
            })}
          </ul>
        </nav>
        <div className="topbar-end">
          {info?.demo && <Badge value="demo" tone="info" />}
          <span className="connection" title="How this page gets updates" data-state={state}>
            <Badge value={state === 'polling' ? 'polling' : state} />
          </span>
          {apiKey && <button type="button" className="link" onClick={() => signOut()}>Sign out</button>}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Route path={path} />
      </main>
    </AppContext.Provider>
  );
}

function Route({ path }: { path: string }) {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case undefined:
      return <FleetPage />;
    case 'services':
      return parts[1] ? <ServicePage name={parts[1]} /> : <FleetPage />;
    case 'incidents':
      return <IncidentsPage id={parts[1]} />;
    case 'security':
      return <SecurityPage />;
    case 'tasks':
      return <TasksPage />;
    case 'functions':
      return <FunctionsPage />;
    default:
      return (
        <div className="empty">
          <strong>No page here.</strong>
          <p><a {...linkProps('/')}>Back to the fleet</a></p>
        </div>
      );
  }
}

/** The event stream, with the event log polled meanwhile whenever the stream is not live. */
function useLiveEvents(client: ApiClient, live: LiveStore, apiKey: string | null, signOut: (m?: string) => void): void {
  useEffect(() => {
    const stream = openStream({
      url: '/api/v1/events/stream',
      key: apiKey,
      onMessage: (m) => {
        try {
          const e = JSON.parse(m.data) as CloudEvent;
          if (e && typeof e.type === 'string') live.ingest([e]);
        } catch {
          // Not an event (e.g. a hello message): ignore.
        }
      },
      onState: (s) => {
        if (s === 'unauthorized') signOut('Your key was not accepted; sign in again.');
        else live.setState(s);
      },
    });
    return () => stream.stop();
  }, [apiKey, live, signOut]);

  const state = useSyncExternalStore(live.subscribe, () => live.state);
  useEffect(() => {
    let stopped = false;
    let unavailable = false;
    const poll = async () => {
      if (unavailable) return;
      try {
        const events = await client.get<CloudEvent[]>('/api/v1/events?limit=200');
        if (!stopped) live.ingest(events);
      } catch (e) {
        if (e instanceof NotAvailableError) unavailable = true;
      }
    };
    void poll();
    if (state === 'live') return () => { stopped = true; };
    const timer = setInterval(() => void poll(), 2000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [client, live, state]);
}
