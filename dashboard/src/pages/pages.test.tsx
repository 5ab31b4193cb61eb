import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { ApiClient } from '../api/client';
import { AppContext } from '../state/context';
import { LiveStore } from '../state/live';
import { FunctionsPage } from './FunctionsPage';
import { SecurityPage } from './SecurityPage';

function withServer(routes: Record<string, () => Response>, ui: React.ReactNode) {
  const client = new ApiClient({
    key: 'k',
    fetch: async (url) => {
      const route = Object.keys(routes).find((r) => url.startsWith(r));
      return route ? routes[route]() : new Response('{"title":"Not Found","status":404}', { status: 404, headers: { 'content-type': 'application/problem+json' } });
    },
  });
  return render(<AppContext.Provider value={{ client, live: new LiveStore(), info: { demo: false, auth: 'keys' } }}>{ui}</AppContext.Provider>);
}

describe('pages on a server without their endpoints', () => {
  it('the security page says alerts and blocks are not available instead of failing', async () => {
    withServer({}, <SecurityPage />);
    expect(await screen.findByText('Blocks: not available on this server.')).toBeTruthy();
    expect(await screen.findByText('Security alerts: not available on this server.')).toBeTruthy();
  });

  it('the functions page lists what the server has', async () => {
    withServer({ '/api/v1/functions': () => new Response('[{"name":"resize","runtime":"node"}]', { headers: { 'content-type': 'application/json' } }) }, <FunctionsPage />);
    expect(await screen.findByRole('button', { name: /resize/ })).toBeTruthy();
  });
});
