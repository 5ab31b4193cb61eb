import { describe, expect, it, vi } from 'vitest';
import { backoffDelay, openStream, SseParser, type SseMessage, type StreamState } from './sse';

function parse(chunks: string[]): { messages: SseMessage[]; parser: SseParser } {
  const messages: SseMessage[] = [];
  const parser = new SseParser((m) => messages.push(m));
  for (const c of chunks) parser.feed(c);
  return { messages, parser };
}

describe('SseParser', () => {
  it('parses events split anywhere across chunks', () => {
    const text = 'id: 1\nevent: instance.exited\ndata: {"id":"a"}\n\nid: 2\ndata: {"id":"b"}\n\n';
    for (let cut = 1; cut < text.length; cut++) {
      const { messages } = parse([text.slice(0, cut), text.slice(cut)]);
      expect(messages).toEqual([
        { event: 'instance.exited', data: '{"id":"a"}', id: '1', retry: undefined },
        { event: 'message', data: '{"id":"b"}', id: '2', retry: undefined },
      ]);
    }
  });

  it('joins multi-line data, ignores comments and unknown fields, and strips one leading space only', () => {
    const { messages } = parse([': keep-alive\n', 'data:  two spaces\ndata:second\nfoo: bar\n\n']);
    expect(messages).toHaveLength(1);
    expect(messages[0].data).toBe(' two spaces\nsecond');
  });

  it('treats CRLF and CR as line ends, even when a CRLF is split between chunks', () => {
    const { messages } = parse(['data: a\r', '\n\r', '\ndata: b\r\r']);
    expect(messages.map((m) => m.data)).toEqual(['a', 'b']);
  });

  it('does not dispatch an event until its blank line arrives, and remembers the last id for reconnects', () => {
    const { messages, parser } = parse(['id: 7\ndata: x\n']);
    expect(messages).toEqual([]);
    parser.feed('\n');
    expect(messages).toHaveLength(1);
    expect(parser.lastEventId).toBe('7');
  });

  it('reads retry only when it is a number, and skips events without data', () => {
    const { messages } = parse(['retry: soon\nevent: ping\n\nretry: 5000\ndata: y\n\n']);
    expect(messages).toEqual([{ event: 'message', data: 'y', id: undefined, retry: 5000 }]);
  });
});

describe('backoffDelay', () => {
  it('doubles from the initial delay up to the cap, with at most 20% jitter below', () => {
    expect(backoffDelay(0, 1000, 30_000, () => 1)).toBe(1000);
    expect(backoffDelay(3, 1000, 30_000, () => 1)).toBe(8000);
    expect(backoffDelay(10, 1000, 30_000, () => 1)).toBe(30_000);
    expect(backoffDelay(3, 1000, 30_000, () => 0)).toBe(6400);
  });
});

function streamResponse(chunks: string[], status = 200): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      const encoder = new TextEncoder();
      for (const c of chunks) controller.enqueue(encoder.encode(c));
      controller.close();
    },
  });
  return new Response(body, { status, headers: { 'content-type': 'text/event-stream' } });
}

describe('openStream', () => {
  it('sends the key as a Bearer header, delivers events and reconnects with Last-Event-ID when the stream ends', async () => {
    const calls: RequestInit[] = [];
    const states: StreamState[] = [];
    const messages: string[] = [];
    const fetch = vi.fn(async (_url: string, init?: RequestInit) => {
      calls.push(init!);
      return calls.length === 1 ? streamResponse(['id: e1\ndata: one\n\n', 'id: e2\ndata: two\n\n']) : new Promise<Response>(() => {});
    });
    const stream = openStream({ url: '/s', key: 'k-123', fetch, onMessage: (m) => messages.push(m.data), onState: (s) => states.push(s), initialDelayMs: 1 });
    await vi.waitFor(() => expect(calls).toHaveLength(2));
    stream.stop();
    expect(messages).toEqual(['one', 'two']);
    expect((calls[0].headers as Record<string, string>).Authorization).toBe('Bearer k-123');
    expect((calls[1].headers as Record<string, string>)['Last-Event-ID']).toBe('e2');
    expect(states.slice(0, 3)).toEqual(['connecting', 'live', 'reconnecting']);
  });

  it('tells the owner to poll when the server has no stream endpoint', async () => {
    const states: StreamState[] = [];
    const fetch = vi.fn(async () => new Response('{"title":"Not Found"}', { status: 404, headers: { 'content-type': 'application/problem+json' } }));
    const stream = openStream({ url: '/s', key: null, fetch, onMessage: () => {}, onState: (s) => states.push(s) });
    await vi.waitFor(() => expect(states).toContain('polling'));
    stream.stop();
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('stops for good on 401', async () => {
    const states: StreamState[] = [];
    const fetch = vi.fn(async () => new Response('', { status: 401 }));
    openStream({ url: '/s', key: 'bad', fetch, onMessage: () => {}, onState: (s) => states.push(s), initialDelayMs: 1 });
    await vi.waitFor(() => expect(states).toContain('unauthorized'));
    await new Promise((r) => setTimeout(r, 20));
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  it('falls back to polling after repeated connection failures and keeps retrying', async () => {
    const states: StreamState[] = [];
    const fetch = vi.fn(async () => {
      throw new TypeError('connection refused');
    });
    const stream = openStream({ url: '/s', key: null, fetch, onMessage: () => {}, onState: (s) => states.push(s), initialDelayMs: 1, maxDelayMs: 2, failuresBeforePolling: 2 });
    await vi.waitFor(() => expect(fetch.mock.calls.length).toBeGreaterThanOrEqual(3));
    stream.stop();
    expect(states.slice(0, 3)).toEqual(['connecting', 'reconnecting', 'polling']);
  });
});
