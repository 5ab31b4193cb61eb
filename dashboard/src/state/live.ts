// Client-side knowledge built from bus events: recent events, and per-service time series from traffic.sample
// and metric.sample. Events come from the SSE stream, or from polling /api/v1/events when there is none.
import type { CloudEvent, MetricSample, TrafficSample } from '../api/types';
import type { StreamState } from '../api/sse';

export interface Series {
  /** Unix seconds. */
  t: number[];
  values: Record<string, (number | null)[]>;
}

const KEEP_EVENTS = 500;
const KEEP_SECONDS = 15 * 60;

export function serviceOfInstance(instanceId: string): string {
  return instanceId.replace(/-\d+$/, '');
}

type Listener = () => void;

export class LiveStore {
  private listeners = new Set<Listener>();
  private seen = new Set<string>();
  private seenOrder: string[] = [];
  private eventsList: CloudEvent[] = [];
  private traffic = new Map<string, TrafficSample[]>();
  // service -> second -> instance -> latest sample in that second
  private metrics = new Map<string, Map<number, Map<string, MetricSample>>>();
  private streamState: StreamState = 'connecting';
  private versionNumber = 0;
  private eventListeners = new Set<(e: CloudEvent) => void>();

  get version(): number {
    return this.versionNumber;
  }

  get state(): StreamState {
    return this.streamState;
  }

  get events(): readonly CloudEvent[] {
    return this.eventsList;
  }

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** Called once per new event (after deduplication), e.g. to refresh a page that shows what it changed. */
  onEvent(listener: (e: CloudEvent) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  setState(state: StreamState): void {
    if (state === this.streamState) return;
    this.streamState = state;
    this.changed();
  }

  /** Adds events (any order); duplicates by id are ignored (delivery is at-least-once). */
  ingest(events: CloudEvent[]): void {
    let added = 0;
    for (const e of events) {
      if (!e || typeof e.id !== 'string' || this.seen.has(e.id)) continue;
      this.remember(e.id);
      added++;
      this.apply(e);
      for (const l of this.eventListeners) l(e);
    }
    if (added > 0) {
      this.eventsList.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
      if (this.eventsList.length > KEEP_EVENTS) this.eventsList.length = KEEP_EVENTS;
      this.changed();
    }
  }

  trafficSeries(service: string): Series {
    const samples = this.traffic.get(service) ?? [];
    return {
      t: samples.map((s) => Date.parse(s.atUtc) / 1000),
      values: {
        rps: samples.map((s) => s.requestsPerSecond),
        p50: samples.map((s) => s.latencyMsP50),
        p95: samples.map((s) => s.latencyMsP95),
        errors: samples.map((s) => s.errorRate * 100),
        replicas: samples.map((s) => s.readyReplicas),
      },
    };
  }

  /** CPU (cores) and memory (MiB) summed over the service's instances, one point per second. */
  resourceSeries(service: string): Series {
    const buckets = this.metrics.get(service);
    if (!buckets) return { t: [], values: { cpu: [], memory: [], instances: [] } };
    const seconds = [...buckets.keys()].sort((a, b) => a - b);
    const cpu: number[] = [];
    const memory: number[] = [];
    const instances: number[] = [];
    for (const s of seconds) {
      const samples = [...buckets.get(s)!.values()];
      cpu.push(samples.reduce((sum, m) => sum + (m.cpuCores ?? 0), 0));
      memory.push(samples.reduce((sum, m) => sum + (m.rssBytes ?? 0), 0) / (1024 * 1024));
      instances.push(samples.length);
    }
    return { t: seconds, values: { cpu, memory, instances } };
  }

  private apply(e: CloudEvent): void {
    this.eventsList.push(e);
    if (e.type === 'traffic.sample' && e.data) {
      const s = e.data as TrafficSample;
      const service = s.service ?? e.subject ?? '';
      const list = this.traffic.get(service) ?? [];
      list.push({ ...s, atUtc: s.atUtc ?? e.time });
      list.sort((a, b) => Date.parse(a.atUtc) - Date.parse(b.atUtc));
      const cutoff = Date.parse(list[list.length - 1].atUtc) - KEEP_SECONDS * 1000;
      while (list.length > 0 && Date.parse(list[0].atUtc) < cutoff) list.shift();
      this.traffic.set(service, list);
    } else if (e.type === 'metric.sample' && e.data) {
      const m = e.data as MetricSample;
      const instance = m.instanceId ?? e.subject ?? '';
      const service = serviceOfInstance(instance);
      const second = Math.floor(Date.parse(e.time) / 1000);
      const buckets = this.metrics.get(service) ?? new Map<number, Map<string, MetricSample>>();
      const bucket = buckets.get(second) ?? new Map<string, MetricSample>();
      bucket.set(instance, m);
      buckets.set(second, bucket);
      for (const key of buckets.keys()) if (key < second - KEEP_SECONDS) buckets.delete(key);
      this.metrics.set(service, buckets);
    }
  }

  private remember(id: string): void {
    this.seen.add(id);
    this.seenOrder.push(id);
    if (this.seenOrder.length > 20_000) {
      for (const old of this.seenOrder.splice(0, 10_000)) this.seen.delete(old);
    }
  }

  private changed(): void {
    this.versionNumber++;
    for (const l of this.listeners) l();
  }
}
