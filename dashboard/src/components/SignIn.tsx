import { useState, type FormEvent } from 'react';
import { ApiClient, UnauthorizedError, type FetchLike } from '../api/client';

export const KEY_STORAGE = 'autonomic.apiKey';

/**
 * Asks for an API key, checks it against the server (GET /api/v1/status) and keeps it in sessionStorage,
 * so it lasts for this tab only and is gone when the tab closes.
 */
export function SignIn({ onSignedIn, message, fetch }: {
  onSignedIn: (key: string) => void;
  message?: string;
  fetch?: FetchLike;
}) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError('Enter an API key.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await new ApiClient({ key: trimmed, fetch }).get('/api/v1/status');
      sessionStorage.setItem(KEY_STORAGE, trimmed);
      onSignedIn(trimmed);
    } catch (err) {
      setError(err instanceof UnauthorizedError ? 'That key was not accepted.' : `Could not reach the control plane: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <form onSubmit={submit} aria-labelledby="signin-title" noValidate>
        <h1 id="signin-title"><span className="logo" aria-hidden="true" /> Autonomic</h1>
        <p>Sign in with an API key. <code>autonomic keys create</code> makes one; the first is printed when the control plane starts.</p>
        {message && <p className="note" role="status">{message}</p>}
        <label htmlFor="api-key">API key</label>
        <input
          id="api-key"
          name="api-key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          value={key}
          onChange={(e) => setKey(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'signin-error' : undefined}
          autoFocus
        />
        {error && <p id="signin-error" className="alert" role="alert">{error}</p>}
        <button type="submit" className="primary" disabled={busy}>{busy ? 'Checking…' : 'Sign in'}</button>
      </form>
    </main>
  );
}
