import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../api/client';
import type { AgentAction, BlockRecord, BlockView, ResponseRecord, ResponseView, SecurityAlert } from '../api/types';
import { AppContext } from '../state/context';
import { LiveStore } from '../state/live';
import { SecurityPage } from './SecurityPage';

// Payloads as a demo control plane answered them after 12 requests with a wrong key from 127.0.0.2
// (GET /api/v1/security/alerts, /blocks, /audit?agent=security), plus an anomaly rate limit.
const line = '127.0.0.2 key=- "GET /api/v1/status" 401 "node"';

const bruteForce: SecurityAlert = {
  id: '1a22982c5ff-1-http-auth-bruteforce',
  time: '2026-11-29T22:52:45.9512792+00:00',
  rule: 'http-auth-bruteforce',
  class: 'brute_force',
  severity: 'high',
  sourceIp: '127.0.0.2',
  subject: 'gateway',
  response: 'block',
  reason: '10 status:401 events from 127.0.0.2 within 60 s',
  evidence: Array.from({ length: 10 }, () => line),
};

const novelLog: SecurityAlert = {
  id: '1a2298d0001-d1-novel',
  time: '2026-11-29T22:53:10.0000000+00:00',
  rule: 'drain.novel-template',
  class: 'novel_log',
  severity: 'low',
  subject: 'worker-0.log',
  instance: 'worker-0',
  response: 'none',
  reason: 'a log line of a kind not seen before in worker-0.log (template 7 of 7)',
  evidence: ['worker: queue depth 0 after 12 ms'],
};

const block: BlockView = {
  block: {
    ip: '127.0.0.2',
    reason: '10 status:401 events from 127.0.0.2 within 60 s',
    rule: 'http-auth-bruteforce',
    since: '2026-11-29T22:52:45.9693931+00:00',
    until: '2026-11-29T23:02:45.9693931+00:00',
    count: 3,
    active: true,
    dryRun: false,
    evidence: Array.from({ length: 10 }, () => line),
  },
  inForce: true,
};

const rateLimit: ResponseView = {
  response: {
    kind: 'rate_limit',
    target: '203.0.113.7',
    reason: 'client behaviour unlike the baseline (score 0.712): 900 requests, 12 errors, 40 paths, 81234 bytes in 60 s',
    rule: 'anomaly.isolation-forest',
    since: '2026-11-29T22:50:00+00:00',
    until: '2026-11-29T23:00:00+00:00',
    active: true,
    dryRun: false,
    requestsPerSecond: 2.5,
    by: 'security',
    alertId: '1a229800000-a1-anomaly',
    evidence: ['203.0.113.7 key=- "GET /search?q=a" 200 "python-requests/2.31"'],
  },
  inForce: true,
};

const blockAction: AgentAction = {
  id: 'sec-1a22982c611-1-a67998e31282465bafb3c753555e90',
  agent: 'security',
  kind: 'block',
  subject: '127.0.0.2',
  reason: '10 status:401 events from 127.0.0.2 within 60 s; ban 10 min (ban 1 of this address)',
  rule: 'http-auth-bruteforce',
  evidence: { alert: '1a22982c5ff-1-http-auth-bruteforce', class: 'brute_force', severity: 'high', source_ip: '127.0.0.2', line1: line },
  status: 'succeeded',
  outcome: 'blocked until 2026-11-29T23:02:45.9693931+00:00',
  createdAt: '2026-11-29T22:52:45.9693931+00:00',
  completedAt: '2026-11-29T22:52:45.9859912+00:00',
};

interface Call {
  method: string;
  path: string;
  body?: unknown;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
const problem = (status: number, title: string, detail: string, extra: Record<string, unknown> = {}) =>
  new Response(JSON.stringify({ type: 'about:blank', title, status, detail, ...extra }), { status, headers: { 'content-type': 'application/problem+json' } });

/** A control plane's security API in memory: lists, lifts (with the API's 404 problems) and manual quarantines. */
function fakeServer(seed: { alerts?: SecurityAlert[]; blocks?: BlockView[]; rateLimits?: ResponseView[]; quarantines?: ResponseView[]; actions?: AgentAction[] } = {}) {
  const state = {
    alerts: seed.alerts ?? [],
    blocks: seed.blocks ?? [],
    rateLimits: seed.rateLimits ?? [],
    quarantines: seed.quarantines ?? [],
    actions: seed.actions ?? [],
  };
  const instances = ['web-0', 'web-1', 'worker-0', 'api-0'];
  const calls: Call[] = [];
  const handle = (method: string, path: string, body: unknown): Response => {
    const [route, query = ''] = path.split('?');
    let m: RegExpMatchArray | null;
    if (method === 'GET' && route === '/api/v1/security/alerts') return json(state.alerts);
    if (method === 'GET' && route === '/api/v1/security/blocks') return json(state.blocks);
    if (method === 'GET' && route === '/api/v1/security/rate-limits') return json(state.rateLimits);
    if (method === 'GET' && route === '/api/v1/security/quarantines') return json(state.quarantines);
    if (method === 'GET' && route === '/api/v1/audit' && query.includes('agent=security')) return json(state.actions);
    if (method === 'DELETE' && (m = route.match(/^\/api\/v1\/security\/blocks\/(.+)$/))) {
      const ip = decodeURIComponent(m[1]);
      const found = state.blocks.find((b) => b.block.ip === ip);
      if (!found) return problem(404, 'not blocked', `${ip} is not blocked`);
      state.blocks = state.blocks.filter((b) => b !== found);
      return json({ ...found.block, active: false });
    }
    if (method === 'DELETE' && (m = route.match(/^\/api\/v1\/security\/rate-limits\/(.+)$/))) {
      const ip = decodeURIComponent(m[1]);
      const found = state.rateLimits.find((r) => r.response.target === ip);
      if (!found) return problem(404, 'not rate-limited', `${ip} is not rate-limited`);
      state.rateLimits = state.rateLimits.filter((r) => r !== found);
      return json({ ...found.response, active: false });
    }
    if (method === 'DELETE' && (m = route.match(/^\/api\/v1\/security\/quarantines\/(.+)$/))) {
      const id = decodeURIComponent(m[1]);
      const found = state.quarantines.find((r) => r.response.target === id);
      if (!found) return problem(404, 'not quarantined', `${id} is not quarantined`);
      state.quarantines = state.quarantines.filter((r) => r !== found);
      return json({ ...found.response, active: false });
    }
    if (method === 'POST' && route === '/api/v1/security/quarantines') {
      const req = body as { instance?: string; for?: string; reason?: string };
      const minutes = req.for === undefined ? 60 : /^(\d+)m$/.exec(req.for)?.[1];
      if (minutes === undefined) {
        const message = `a duration from 1s to 30d, e.g. 30m or 2h, not '${req.for}'`;
        return problem(422, 'invalid quarantine request', `for: ${message}`, { errors: { for: [message] } });
      }
      if (!instances.includes(req.instance ?? '')) return problem(404, 'no such instance', `there is no instance '${req.instance}'`);
      const since = new Date('2026-11-29T23:00:00Z');
      const record: ResponseRecord = {
        kind: 'quarantine',
        target: req.instance!,
        reason: req.reason ?? 'quarantined by an operator',
        rule: 'security.manual',
        since: since.toISOString(),
        until: new Date(since.getTime() + Number(minutes) * 60_000).toISOString(),
        active: true,
        dryRun: false,
        by: 'bootstrap',
        evidence: [],
      };
      state.quarantines = [{ response: record, inForce: true }, ...state.quarantines];
      return json(record, 201);
    }
    if (method === 'POST' && route === '/api/v1/security/blocks') {
      const req = body as { ip?: string; for?: string; reason?: string };
      if (req.ip === '127.0.0.1') return problem(409, 'allowlisted', '127.0.0.1 is in the security allowlist and is never blocked');
      const since = new Date('2026-11-29T23:00:00Z');
      const record: BlockRecord = {
        ip: req.ip!,
        reason: req.reason ?? 'blocked by an operator',
        rule: 'security.manual',
        since: since.toISOString(),
        until: new Date(since.getTime() + 60 * 60_000).toISOString(),
        count: 1,
        active: true,
        dryRun: false,
        evidence: [],
      };
      state.blocks = [{ block: record, inForce: true }, ...state.blocks];
      return json(record, 201);
    }
    return new Response('{"title":"Not Found","status":404}', { status: 404, headers: { 'content-type': 'application/problem+json' } });
  };
  const client = new ApiClient({
    key: 'k',
    fetch: async (url, init) => {
      const method = init?.method ?? 'GET';
      const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
      calls.push({ method, path: url, body });
      return handle(method, url, body);
    },
  });
  render(<AppContext.Provider value={{ client, live: new LiveStore(), info: { demo: true, auth: 'keys' } }}><SecurityPage /></AppContext.Provider>);
  return { state, calls, writes: () => calls.filter((c) => c.method !== 'GET') };
}

const section = (name: RegExp) => screen.getByRole('region', { name });

describe('security page', () => {
  it('lists blocks, rate limits and alerts with their fields as the API sends them', async () => {
    fakeServer({ alerts: [novelLog, bruteForce], blocks: [block], rateLimits: [rateLimit], actions: [blockAction] });

    const blockRow = await waitFor(() => {
      const row = document.querySelector('tr[data-ip="127.0.0.2"]');
      expect(row).toBeTruthy();
      return row as HTMLElement;
    });
    const cells = within(blockRow).getAllByRole('cell').map((c) => c.textContent);
    expect(cells[0]).toBe('127.0.0.2');
    expect(cells[1]).toBe('http-auth-bruteforce');
    expect(cells[2]).toContain('10 status:401 events from 127.0.0.2 within 60 s');
    expect(cells[3]).not.toBe('—');
    expect(cells[4]).not.toBe('—');
    expect(cells[3]).not.toBe(cells[4]);
    expect(cells[5]).toBe('3');
    expect(within(blockRow).getByRole('button', { name: 'Unblock 127.0.0.2' })).toBeTruthy();

    const limits = section(/rate limits/i);
    const limitRow = await within(limits).findByRole('row', { name: /203\.0\.113\.7/ });
    expect(within(limitRow).getAllByRole('cell').map((c) => c.textContent).slice(0, 3)).toEqual(['203.0.113.7', '2.5', 'anomaly.isolation-forest']);

    const alerts = section(/^alerts$/i);
    const brute = await waitFor(() => {
      const row = alerts.querySelector('tr[data-rule="http-auth-bruteforce"]');
      expect(row).toBeTruthy();
      return row as HTMLElement;
    });
    const alertCells = within(brute).getAllByRole('cell');
    expect(alertCells.slice(1, 6).map((c) => c.textContent)).toEqual(['http-auth-bruteforce', 'brute force', 'high', '127.0.0.2', 'block']);
    expect(alertCells[3].querySelector('.badge-bad')).toBeTruthy();
    // A log alert has no address: its source is the instance; it asked for no response.
    const novel = alerts.querySelector('tr[data-rule="drain.novel-template"]') as HTMLElement;
    expect(within(novel).getAllByRole('cell').slice(2, 6).map((c) => c.textContent)).toEqual(['novel log', 'low', 'instance worker-0', '—']);

    const actions = section(/^actions$/i);
    const actionRow = await within(actions).findByRole('row', { name: /block 127\.0\.0\.2/ });
    expect(actionRow.textContent).toContain('blocked until');
    expect(within(actionRow).getByText('succeeded').className).toContain('badge-ok');

    expect(within(section(/quarantined instances/i)).getByText('No instance is quarantined.')).toBeTruthy();
  });

  it('keeps an alert\'s evidence folded until asked for', async () => {
    fakeServer({ alerts: [bruteForce] });
    const alerts = await waitFor(() => {
      const s = section(/^alerts$/i);
      expect(s.querySelector('tr[data-rule="http-auth-bruteforce"]')).toBeTruthy();
      return s;
    });
    const details = alerts.querySelector('details') as HTMLDetailsElement;
    expect(details.open).toBe(false);
    const summary = within(details).getByText('10 evidence lines');
    fireEvent.click(summary);
    await waitFor(() => expect(details.open).toBe(true));
    const lines = within(details).getAllByRole('listitem');
    expect(lines).toHaveLength(10);
    expect(lines[0].textContent).toBe(line);
  });

  it('unblocks an address and drops its row', async () => {
    const server = fakeServer({ blocks: [block] });
    const button = await screen.findByRole('button', { name: 'Unblock 127.0.0.2' });
    fireEvent.click(button);
    expect(await within(section(/blocked addresses/i)).findByText('127.0.0.2 unblocked')).toBeTruthy();
    expect(server.writes()).toEqual([{ method: 'DELETE', path: '/api/v1/security/blocks/127.0.0.2', body: undefined }]);
    expect(await within(section(/blocked addresses/i)).findByText('Nothing is blocked.')).toBeTruthy();
    expect(document.querySelector('tr[data-ip="127.0.0.2"]')).toBeNull();
  });

  it('shows the problem detail when the address is no longer blocked', async () => {
    const server = fakeServer({ blocks: [block] });
    const button = await screen.findByRole('button', { name: 'Unblock 127.0.0.2' });
    server.state.blocks = []; // expired (or lifted by someone else) since the list was read
    fireEvent.click(button);
    const alert = await within(section(/blocked addresses/i)).findByRole('alert');
    expect(alert.textContent).toBe('127.0.0.2 is not blocked');
  });

  it('blocks an address by hand and shows a refusal as the API words it', async () => {
    const server = fakeServer();
    const panel = section(/blocked addresses/i);
    fireEvent.change(within(panel).getByLabelText('Address'), { target: { value: '127.0.0.1' } });
    fireEvent.click(within(panel).getByRole('button', { name: 'Block' }));
    expect((await within(panel).findByRole('alert')).textContent).toBe('127.0.0.1 is in the security allowlist and is never blocked');

    fireEvent.change(within(panel).getByLabelText('Address'), { target: { value: ' 198.51.100.4 ' } });
    fireEvent.change(within(panel).getByLabelText('Reason'), { target: { value: 'abuse report' } });
    fireEvent.click(within(panel).getByRole('button', { name: 'Block' }));
    expect((await within(panel).findByRole('status')).textContent).toMatch(/^198\.51\.100\.4 blocked until /);
    expect(await within(panel).findByRole('button', { name: 'Unblock 198.51.100.4' })).toBeTruthy();
    expect(server.writes()[1]).toEqual({ method: 'POST', path: '/api/v1/security/blocks', body: { ip: '198.51.100.4', for: '30m', reason: 'abuse report' } });
    expect((within(panel).getByLabelText('Address') as HTMLInputElement).value).toBe('');
  });

  it('lifts a rate limit', async () => {
    const server = fakeServer({ rateLimits: [rateLimit] });
    fireEvent.click(await screen.findByRole('button', { name: 'Lift the rate limit of 203.0.113.7' }));
    expect(await screen.findByText('rate limit of 203.0.113.7 lifted')).toBeTruthy();
    expect(server.writes()).toEqual([{ method: 'DELETE', path: '/api/v1/security/rate-limits/203.0.113.7', body: undefined }]);
    expect(await screen.findByText('No address is rate-limited.')).toBeTruthy();
  });

  it('quarantines an instance from the form, lists it and releases it', async () => {
    const server = fakeServer();
    const panel = section(/quarantined instances/i);
    const submit = within(panel).getByRole('button', { name: 'Quarantine' }) as HTMLButtonElement;
    expect(submit.disabled).toBe(true); // no instance yet
    fireEvent.change(within(panel).getByLabelText('Instance'), { target: { value: ' web-0 ' } });
    fireEvent.change(within(panel).getByLabelText('For'), { target: { value: '45m' } });
    fireEvent.change(within(panel).getByLabelText('Reason'), { target: { value: 'odd outbound traffic' } });
    fireEvent.click(submit);

    const row = await within(panel).findByRole('row', { name: /web-0/ });
    expect(within(row).getAllByRole('cell').map((c) => c.textContent).slice(0, 4)).toEqual(['web-0', 'security.manual', 'bootstrap', 'odd outbound traffic']);
    expect(within(panel).getByRole('status').textContent).toMatch(/^web-0 quarantined until /);
    expect(server.writes()).toEqual([
      { method: 'POST', path: '/api/v1/security/quarantines', body: { instance: 'web-0', for: '45m', reason: 'odd outbound traffic' } },
    ]);
    expect((within(panel).getByLabelText('Instance') as HTMLInputElement).value).toBe('');

    fireEvent.click(within(panel).getByRole('button', { name: 'Release web-0' }));
    expect(await within(panel).findByText('web-0 released')).toBeTruthy();
    expect(await within(panel).findByText('No instance is quarantined.')).toBeTruthy();
    expect(server.writes()[1]).toEqual({ method: 'DELETE', path: '/api/v1/security/quarantines/web-0', body: undefined });
  });

  it('shows what the API says is wrong with a quarantine request', async () => {
    const server = fakeServer();
    const panel = section(/quarantined instances/i);
    fireEvent.change(within(panel).getByLabelText('Instance'), { target: { value: 'web-0' } });
    fireEvent.change(within(panel).getByLabelText('For'), { target: { value: 'soon' } });
    fireEvent.click(within(panel).getByRole('button', { name: 'Quarantine' }));
    expect((await within(panel).findByRole('alert')).textContent).toBe("for: a duration from 1s to 30d, e.g. 30m or 2h, not 'soon'");
    // The form keeps what was typed, to be corrected.
    expect((within(panel).getByLabelText('Instance') as HTMLInputElement).value).toBe('web-0');

    fireEvent.change(within(panel).getByLabelText('Instance'), { target: { value: 'web-9' } });
    fireEvent.change(within(panel).getByLabelText('For'), { target: { value: '' } });
    fireEvent.click(within(panel).getByRole('button', { name: 'Quarantine' }));
    await waitFor(() => expect(within(panel).getByRole('alert').textContent).toBe("there is no instance 'web-9'"));
    // An empty duration is left to the server's default (1 h).
    expect(server.writes()[1]).toEqual({ method: 'POST', path: '/api/v1/security/quarantines', body: { instance: 'web-9' } });
    expect(server.state.quarantines).toEqual([]);
  });

  it('marks dry-run responses as not enforced', async () => {
    fakeServer({ blocks: [{ block: { ...block.block, dryRun: true }, inForce: false }] });
    const row = await waitFor(() => {
      const r = document.querySelector('tr[data-ip="127.0.0.2"]');
      expect(r).toBeTruthy();
      return r as HTMLElement;
    });
    expect(within(row).getByText('dry run')).toBeTruthy();
  });
});
