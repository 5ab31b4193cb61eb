import { describe, expect, it, vi } from 'vitest';
import { ApiClient, ApiError, NotAvailableError, UnauthorizedError } from './client';

const problem = (status: number, body: object) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/problem+json' } });

describe('ApiClient', () => {
  it('tells a missing endpoint (router 404) from a missing item (404 with a detail)', async () => {
    const client = new ApiClient({ key: null, fetch: async (url) => (url.includes('tasks')
      ? problem(404, { title: 'Not Found', status: 404 })
      : problem(404, { title: 'incident not found', status: 404, detail: "no incident has id 'x'" })) });
    await expect(client.get('/api/v1/tasks')).rejects.toBeInstanceOf(NotAvailableError);
    const err = await client.get('/api/v1/incidents/x').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).not.toBeInstanceOf(NotAvailableError);
    expect((err as ApiError).message).toBe("incident not found: no incident has id 'x'");
  });

  it('treats the gateway fallback for unknown API paths as not available', async () => {
    const client = new ApiClient({ key: null, fetch: async () => problem(404, { title: 'no such endpoint', status: 404, detail: 'this server has no API endpoint at /api/v1/functions' }) });
    await expect(client.get('/api/v1/functions')).rejects.toBeInstanceOf(NotAvailableError);
  });

  it('calls onUnauthorized and throws UnauthorizedError on 401', async () => {
    const onUnauthorized = vi.fn();
    const client = new ApiClient({ key: 'k', onUnauthorized, fetch: async () => new Response('', { status: 401 }) });
    await expect(client.get('/api/v1/status')).rejects.toBeInstanceOf(UnauthorizedError);
    expect(onUnauthorized).toHaveBeenCalledOnce();
  });

  it('sends JSON bodies with the key', async () => {
    const fetch = vi.fn(async (_url: string, _init?: RequestInit) => new Response('{"fault":"kill"}', { status: 202, headers: { 'content-type': 'application/json' } }));
    const client = new ApiClient({ key: 'k9', fetch });
    await expect(client.post('/api/v1/chaos', { fault: 'kill', target: 'web' })).resolves.toEqual({ fault: 'kill' });
    const init = fetch.mock.calls[0][1]!;
    expect(init.method).toBe('POST');
    expect(init.body).toBe('{"fault":"kill","target":"web"}');
    expect(init.headers).toMatchObject({ Authorization: 'Bearer k9', 'Content-Type': 'application/json' });
  });
});
