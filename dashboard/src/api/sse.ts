// Server-Sent Events over fetch(): a streaming parser (the WHATWG event-stream format) and a connection that
// sends the API key in the Authorization header (EventSource cannot), reconnects with capped exponential
// backoff and jitter, and tells its owner when to fall back to polling.

export interface SseMessage {
  event: string;
  data: string;
  id?: string;
  retry?: number;
}

/**
 * Incremental parser: feed it text chunks as they arrive (split anywhere, even inside a line or a CRLF);
 * it calls onMessage once per complete event. Comments (lines starting with ':') are keep-alives and ignored.
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;
  private retry: number | undefined;
  private lastId: string | undefined;
  private pendingCr = false;

  constructor(private readonly onMessage: (message: SseMessage) => void) {}

  /** The id of the last event seen, for Last-Event-ID on reconnect. */
  get lastEventId(): string | undefined {
    return this.lastId;
  }

  feed(chunk: string): void {
    let text = chunk;
    // A CR at the end of the previous chunk may be the first half of a CRLF.
    if (this.pendingCr && text.startsWith('\n')) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const c = this.buffer[i];
      if (c !== '\n' && c !== '\r') continue;
      if (c === '\r') {
        if (i + 1 === this.buffer.length) this.pendingCr = true;
        else if (this.buffer[i + 1] === '\n') {
          this.line(this.buffer.slice(start, i));
          i++;
          start = i + 1;
          continue;
        }
      }
      this.line(this.buffer.slice(start, i));
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
  }

  /** Drops a half-received event, e.g. when the connection broke. */
  reset(): void {
    this.buffer = '';
    this.data = [];
    this.event = '';
    this.id = undefined;
    this.pendingCr = false;
  }

  private line(line: string): void {
    if (line === '') {
      this.dispatch();
      return;
    }
    if (line.startsWith(':')) return;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        break;
    }
  }

  private dispatch(): void {
    if (this.id !== undefined) this.lastId = this.id;
    if (this.data.length > 0) {
      this.onMessage({ event: this.event || 'message', data: this.data.join('\n'), id: this.id, retry: this.retry });
    }
    this.data = [];
    this.event = '';
    this.id = undefined;
    this.retry = undefined;
  }
}

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'polling' | 'unauthorized';

export interface StreamOptions {
  url: string;
  key: string | null;
  onMessage: (message: SseMessage) => void;
  onState: (state: StreamState) => void;
  fetch?: (input: string, init?: RequestInit) => Promise<Response>;
  /** First retry delay; doubles to maxDelayMs. */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Connection failures in a row before the owner is told to poll (it keeps retrying in the background). */
  failuresBeforePolling?: number;
  random?: () => number;
}

/** Delay before retry number `attempt` (0-based): capped exponential backoff with up to 20% jitter. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const base = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 20));
  return Math.round(base * (0.8 + 0.2 * random()));
}

/**
 * Keeps one stream open until stop() is called. A 404 means the server has no stream endpoint: the owner is
 * told to poll and the stream is retried only rarely. A 401 stops it (the key is no good).
 */
export function openStream(options: StreamOptions): { stop: () => void } {
  const fetcher = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const initial = options.initialDelayMs ?? 1000;
  const max = options.maxDelayMs ?? 30_000;
  const beforePolling = options.failuresBeforePolling ?? 2;
  let stopped = false;
  let failures = 0;
  let controller: AbortController | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let lastEventId: string | undefined;
  let serverRetry: number | undefined;

  const run = async (): Promise<void> => {
    if (stopped) return;
    controller = new AbortController();
    const parser = new SseParser((m) => {
      if (m.retry !== undefined) serverRetry = m.retry;
      options.onMessage(m);
    });
    let notFound = false;
    try {
      const headers: Record<string, string> = { Accept: 'text/event-stream', 'Cache-Control': 'no-cache' };
      if (options.key) headers.Authorization = `Bearer ${options.key}`;
      if (lastEventId) headers['Last-Event-ID'] = lastEventId;
      const response = await fetcher(options.url, { headers, signal: controller.signal, cache: 'no-store' });
      if (response.status === 401) {
        options.onState('unauthorized');
        stopped = true;
        return;
      }
      notFound = response.status === 404 || response.status === 405;
      const type = response.headers.get('content-type') ?? '';
      if (!response.ok || !response.body || !type.includes('text/event-stream')) {
        throw new Error(`stream answered ${response.status}`);
      }
      failures = 0;
      options.onState('live');
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
        lastEventId = parser.lastEventId ?? lastEventId;
      }
      throw new Error('stream ended');
    } catch {
      if (stopped) return;
      failures++;
      options.onState(notFound || failures >= beforePolling ? 'polling' : 'reconnecting');
      // Without a stream endpoint, look again only now and then (the server may be upgraded underneath us).
      const delay = notFound ? max : serverRetry ?? backoffDelay(failures - 1, initial, max, options.random);
      timer = setTimeout(() => void run(), delay);
    }
  };

  options.onState('connecting');
  void run();
  return {
    stop: () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      controller?.abort();
    },
  };
}
