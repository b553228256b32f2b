import { useState, type FormEvent } from 'react';
import { ApiError } from '../api/client.js';
import type { Agent } from '../api/types.js';
import { useServices } from '../app/services.js';

type Mode = { kind: 'idle' } | { kind: 'renaming'; name: string } | { kind: 'confirm-delete'; keepHistory: boolean };

/**
 * Rename, pause or resume monitoring, and delete (after a confirmation), through the same signed-in
 * API calls (session cookie and CSRF token) as every other change the dashboard makes.
 */
export function AgentActions({ agent, onChanged, onDeleted }: { agent: Agent; onChanged: (a: Agent) => void; onDeleted: () => void }) {
  const { api } = useServices();
  const [mode, setMode] = useState<Mode>({ kind: 'idle' });
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const path = `/api/v1/agents/${encodeURIComponent(agent.agent_id)}`;

  const run = async (work: () => Promise<void>) => {
    setBusy(true);
    setProblem(null);
    try {
      await work();
    } catch (err) {
      setProblem(err instanceof ApiError || err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  const patch = (body: { name?: string; paused?: boolean }) =>
    run(async () => {
      const r = await api.patch<{ agent: Agent }>(path, body);
      onChanged(r.agent);
      setMode({ kind: 'idle' });
    });
  const remove = (keepHistory: boolean) =>
    run(async () => {
      await api.delete(keepHistory ? `${path}?keep_history=true` : path);
      onDeleted();
    });
  const rename = (e: FormEvent) => {
    e.preventDefault();
    if (mode.kind === 'renaming' && mode.name.trim() !== '') void patch({ name: mode.name.trim() });
  };

  return (
    <div className="agent-actions-wrap">
      {mode.kind === 'renaming' ? (
        <form className="agent-actions" onSubmit={rename} aria-label="Rename the agent">
          <label>
            <span className="visually-hidden">New name</span>
            <input
              type="text"
              value={mode.name}
              maxLength={200}
              required
              autoFocus
              aria-label="New name"
              onChange={(e) => setMode({ kind: 'renaming', name: e.target.value })}
            />
          </label>
          <button type="submit" className="button small primary" disabled={busy}>
            Save name
          </button>
          <button type="button" className="button small" onClick={() => setMode({ kind: 'idle' })}>
            Cancel
          </button>
        </form>
      ) : (
        <div className="agent-actions" role="group" aria-label="Agent actions">
          <button type="button" className="button small" disabled={busy} onClick={() => setMode({ kind: 'renaming', name: agent.name })}>
            Rename
          </button>
          <button
            type="button"
            className="button small"
            disabled={busy}
            title={agent.paused ? 'Alerts fire for it again' : 'No alert fires for it while paused; its heartbeats are still shown'}
            onClick={() => void patch({ paused: !agent.paused })}
          >
            {agent.paused ? 'Resume monitoring' : 'Pause monitoring'}
          </button>
          <button
            type="button"
            className="button small danger"
            disabled={busy || mode.kind === 'confirm-delete'}
            onClick={() => setMode({ kind: 'confirm-delete', keepHistory: false })}
          >
            Delete…
          </button>
        </div>
      )}
      {mode.kind === 'confirm-delete' && (
        <div className="confirm-delete" role="alertdialog" aria-labelledby="confirm-delete-title">
          <strong id="confirm-delete-title">Delete {agent.name}?</strong>
          <span>
            It leaves the dashboard and its open alerts end. Only a pool key or the admin token can register it again; its own key cannot.
          </span>
          <label>
            <input
              type="checkbox"
              checked={mode.keepHistory}
              onChange={(e) => setMode({ kind: 'confirm-delete', keepHistory: e.target.checked })}
            />{' '}
            Keep its history until retention removes it
          </label>
          <button type="button" className="button small danger" disabled={busy} onClick={() => void remove(mode.keepHistory)}>
            Delete agent
          </button>
          <button type="button" className="button small" disabled={busy} onClick={() => setMode({ kind: 'idle' })}>
            Cancel
          </button>
        </div>
      )}
      {problem !== null && (
        <p className="notice small" role="alert">
          {problem}
        </p>
      )}
    </div>
  );
}
