import { createContext, useCallback, useContext, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import { ApiClient, NotAvailableError, UnauthorizedError } from '../api/client';
import type { CloudEvent, ServerInfo } from '../api/types';
import { LiveStore } from './live';

export interface AppServices {
  client: ApiClient;
  live: LiveStore;
  info: ServerInfo | null;
}

export const AppContext = createContext<AppServices | null>(null);

export function useApp(): AppServices {
  const app = useContext(AppContext);
  if (!app) throw new Error('useApp outside AppContext');
  return app;
}

/** Re-renders when the live store changes; returns its version. */
export function useLive(): LiveStore {
  const { live } = useApp();
  useSyncExternalStore(live.subscribe, () => live.version);
  return live;
}

export type Resource<T> =
  | { kind: 'loading' }
  | { kind: 'ok'; data: T; at: number }
  | { kind: 'unavailable' }
  | { kind: 'error'; message: string; data?: T };

export interface ResourceOptions {
  /** Poll interval when the event stream is live; polling mode uses pollMs. */
  liveMs?: number;
  pollMs?: number;
  /** Events that make the resource stale (refetched shortly after). */
  refreshOn?: (e: CloudEvent) => boolean;
}

/**
 * GETs an API path, keeps it fresh (interval, plus soon after a relevant live event) and tells apart loading,
 * data, "this server has no such endpoint" and errors. A 401 is handled by the client (back to sign-in).
 */
export function useResource<T>(path: string | null, options: ResourceOptions = {}): [Resource<T>, () => void] {
  const { client, live } = useApp();
  const [resource, setResource] = useState<Resource<T>>({ kind: 'loading' });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const refreshOn = useRef(options.refreshOn);
  refreshOn.current = options.refreshOn;
  const streamLive = useSyncExternalStore(live.subscribe, () => live.state === 'live');
  const interval = streamLive ? (options.liveMs ?? 10_000) : (options.pollMs ?? 2_000);

  useEffect(() => {
    if (!path) return;
    const controller = new AbortController();
    client
      .get<T>(path, controller.signal)
      .then((data) => setResource({ kind: 'ok', data, at: Date.now() }))
      .catch((e: unknown) => {
        if (controller.signal.aborted || e instanceof UnauthorizedError) return;
        if (e instanceof NotAvailableError) setResource({ kind: 'unavailable' });
        else
          setResource((prev) => ({
            kind: 'error',
            message: e instanceof Error ? e.message : String(e),
            data: prev.kind === 'ok' ? prev.data : prev.kind === 'error' ? prev.data : undefined,
          }));
      });
    return () => controller.abort();
  }, [client, path, tick]);

  useEffect(() => {
    if (!path) return;
    const timer = setInterval(reload, interval);
    return () => clearInterval(timer);
  }, [path, interval, reload]);

  useEffect(() => {
    let pending: ReturnType<typeof setTimeout> | null = null;
    const off = live.onEvent((e) => {
      if (!refreshOn.current?.(e) || pending) return;
      pending = setTimeout(() => {
        pending = null;
        reload();
      }, 250);
    });
    return () => {
      off();
      if (pending) clearTimeout(pending);
    };
  }, [live, reload]);

  return [resource, reload];
}
