import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../api/types';
import { LiveStore, serviceOfInstance } from './live';

const evt = (id: string, type: string, time: string, data?: unknown, subject?: string): CloudEvent => ({ id, source: '/t', type, time, data, subject });

describe('LiveStore', () => {
  it('ignores events it has already seen (at-least-once delivery) and keeps them newest first', () => {
    const live = new LiveStore();
    const seen: string[] = [];
    live.onEvent((e) => seen.push(e.id));
    live.ingest([evt('a', 'instance.started', '2026-01-01T00:00:01Z'), evt('b', 'instance.exited', '2026-01-01T00:00:02Z')]);
    const version = live.version;
    live.ingest([evt('a', 'instance.started', '2026-01-01T00:00:01Z')]);
    expect(live.version).toBe(version);
    expect(seen).toEqual(['a', 'b']);
    expect(live.events.map((e) => e.id)).toEqual(['b', 'a']);
  });

  it('builds traffic series per service in time order', () => {
    const live = new LiveStore();
    const sample = (at: string, rps: number) => ({ service: 'web', atUtc: at, requestsPerSecond: rps, latencyMsP50: 1, latencyMsP95: 9, errorRate: 0.5, inFlight: 0, readyReplicas: 2 });
    live.ingest([evt('2', 'traffic.sample', '2026-01-01T00:00:02Z', sample('2026-01-01T00:00:02Z', 20)), evt('1', 'traffic.sample', '2026-01-01T00:00:01Z', sample('2026-01-01T00:00:01Z', 10))]);
    const s = live.trafficSeries('web');
    expect(s.t).toEqual([Date.parse('2026-01-01T00:00:01Z') / 1000, Date.parse('2026-01-01T00:00:02Z') / 1000]);
    expect(s.values.rps).toEqual([10, 20]);
    expect(s.values.errors).toEqual([50, 50]);
    expect(live.trafficSeries('worker').t).toEqual([]);
  });

  it('sums CPU and memory over a service\'s instances per second, keeping each instance\'s latest sample', () => {
    const live = new LiveStore();
    const m = (instanceId: string, cores: number, mib: number) => ({ instanceId, pid: 1, rssBytes: mib * 1024 * 1024, cpuSeconds: 0, cpuCores: cores, openFiles: 0, threads: 1 });
    live.ingest([
      evt('1', 'metric.sample', '2026-01-01T00:00:01.100Z', m('web-0', 0.5, 100), 'web-0'),
      evt('2', 'metric.sample', '2026-01-01T00:00:01.200Z', m('web-1', 0.25, 50), 'web-1'),
      evt('3', 'metric.sample', '2026-01-01T00:00:01.900Z', m('web-0', 1, 120), 'web-0'),
      evt('4', 'metric.sample', '2026-01-01T00:00:02.000Z', m('web-10', 0.1, 10), 'web-10'),
    ]);
    const r = live.resourceSeries('web');
    expect(r.values.cpu).toEqual([1.25, 0.1]);
    expect(r.values.memory).toEqual([170, 10]);
    expect(r.values.instances).toEqual([2, 1]);
  });

  it('maps instance ids to their service', () => {
    expect(serviceOfInstance('web-0')).toBe('web');
    expect(serviceOfInstance('api-gateway-12')).toBe('api-gateway');
  });
});
