import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { KEY_STORAGE, SignIn } from './SignIn';

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' } });

function submit(key: string) {
  fireEvent.change(screen.getByLabelText('API key'), { target: { value: key } });
  fireEvent.click(screen.getByRole('button', { name: 'Sign in' }));
}

describe('SignIn', () => {
  it('asks for a key before calling the server', async () => {
    const fetch = vi.fn();
    render(<SignIn onSignedIn={() => {}} fetch={fetch} />);
    submit('   ');
    expect((await screen.findByRole('alert')).textContent).toBe('Enter an API key.');
    expect(fetch).not.toHaveBeenCalled();
  });

  it('rejects a key the server answers 401 to, and stores nothing', async () => {
    const fetch = vi.fn(async () => json(401, { title: 'Unauthorized', status: 401 }));
    const onSignedIn = vi.fn();
    render(<SignIn onSignedIn={onSignedIn} fetch={fetch} />);
    submit('wrong');
    expect((await screen.findByRole('alert')).textContent).toBe('That key was not accepted.');
    expect(screen.getByLabelText('API key').getAttribute('aria-invalid')).toBe('true');
    expect(onSignedIn).not.toHaveBeenCalled();
    expect(sessionStorage.getItem(KEY_STORAGE)).toBeNull();
  });

  it('checks a good key with a Bearer header, keeps it in sessionStorage and signs in', async () => {
    const fetch = vi.fn(async (_url: string, _init?: RequestInit) => json(200, { services: [], incidentsOpen: 0 }));
    const onSignedIn = vi.fn();
    render(<SignIn onSignedIn={onSignedIn} fetch={fetch} />);
    submit('  ak_good  ');
    await waitFor(() => expect(onSignedIn).toHaveBeenCalledWith('ak_good'));
    expect(fetch.mock.calls[0][0]).toBe('/api/v1/status');
    expect((fetch.mock.calls[0][1]!.headers as Record<string, string>).Authorization).toBe('Bearer ak_good');
    expect(sessionStorage.getItem(KEY_STORAGE)).toBe('ak_good');
  });

  it('says when the control plane cannot be reached, and shows why it was sent back', async () => {
    const fetch = vi.fn(async () => {
      throw new TypeError('Failed to fetch');
    });
    render(<SignIn onSignedIn={() => {}} fetch={fetch} message="Your key was not accepted; sign in again." />);
    expect(screen.getByRole('status').textContent).toBe('Your key was not accepted; sign in again.');
    submit('k');
    expect((await screen.findByRole('alert')).textContent).toContain('Could not reach the control plane: Failed to fetch');
  });
});
