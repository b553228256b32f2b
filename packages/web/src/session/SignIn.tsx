import { useState, type FormEvent } from 'react';
import { ApiError, type Api } from '../api/client.js';

/**
 * Sign-in with the admin token. The token goes to the hub once, which answers with an HttpOnly
 * session cookie; the page keeps nothing (the field is cleared, nothing is stored).
 */
export function SignIn({ api, ended, onSignedIn }: { api: Api; ended: boolean; onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      await api.signIn(token.trim());
      setToken('');
      onSignedIn();
    } catch (err) {
      setProblem(
        err instanceof ApiError && err.status === 401
          ? 'The hub refused this token. Use the admin token (vigil-data/admin-token, or VIGIL_ADMIN_TOKEN).'
          : err instanceof Error
            ? err.message
            : String(err),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin" id="main">
      <form className="signin-card" onSubmit={(e) => void submit(e)} aria-labelledby="signin-title">
        <div className="brand signin-brand">
          <span className="brand-mark" aria-hidden="true" />
          Vigil
        </div>
        <h1 id="signin-title">Sign in</h1>
        {ended && !problem && <p className="muted">Your session ended. Sign in again to continue.</p>}
        <label htmlFor="token">Admin token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          spellCheck={false}
          autoFocus
          required
          value={token}
          onChange={(e) => setToken(e.target.value)}
          aria-invalid={problem !== null}
          aria-describedby={problem ? 'signin-problem' : 'signin-help'}
        />
        <p id="signin-help" className="muted small">
          Printed by <code>vigil server</code> and <code>vigil demo</code> at start.
        </p>
        {problem && (
          <p id="signin-problem" className="form-error" role="alert">
            {problem}
          </p>
        )}
        <button type="submit" className="button primary" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
