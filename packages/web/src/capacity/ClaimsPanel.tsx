import { useCallback, useEffect, useState } from 'react';
import type { Claim } from '../api/types.js';
import { Link } from '../app/navigation.js';
import { useServices } from '../app/services.js';
import { formatGb, formatNumber } from '../ui/format.js';
import { Empty, ErrorState, Loading } from '../ui/states.js';

/** How often the list of reservations is read again (claims change through the API, not the live feed). */
const REFRESH_MS = 15_000;

/** Seconds or minutes until `at`, for a lease (`4m 10s`, `45s`). */
function leaseLeft(at: number, now: number): string {
  const s = Math.max(0, Math.round((at - now) / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s}s`;
}

/**
 * The active capacity claims (`GET /api/v1/capacity/claims`): what orchestrators hold for their jobs,
 * which the capacity query subtracts from the agents' measured free capacity. `version` changes when
 * the page wants a fresh read; a release refreshes both this list and the page's results.
 */
export function ClaimsPanel({ version, onReleased }: { version: number; onReleased: () => void }) {
  const { api } = useServices();
  const [state, setState] = useState<
    { kind: 'loading' } | { kind: 'ready'; claims: Claim[]; at: number } | { kind: 'error'; message: string }
  >({
    kind: 'loading',
  });
  const load = useCallback(async () => {
    try {
      const r = await api.get<{ claims: Claim[] }>('/api/v1/capacity/claims?limit=200');
      setState({ kind: 'ready', claims: r.claims, at: Date.now() });
    } catch (err) {
      setState({ kind: 'error', message: err instanceof Error ? err.message : String(err) });
    }
  }, [api]);
  useEffect(() => {
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [load, version]);
  const release = async (id: string) => {
    try {
      await api.post(`/api/v1/capacity/claims/${encodeURIComponent(id)}/release`);
    } finally {
      await load();
      onReleased();
    }
  };

  return (
    <section className="panel" aria-labelledby="claims-title">
      <h2 id="claims-title">Reservations</h2>
      {state.kind === 'loading' && <Loading label="Reading claims…" />}
      {state.kind === 'error' && <ErrorState title="The claims could not be read" message={state.message} onRetry={() => void load()} />}
      {state.kind === 'ready' &&
        (state.claims.length === 0 ? (
          <Empty title="No active claims">
            Orchestrators reserve capacity with POST /api/v1/capacity/claim or `vigil capacity --claim`.
          </Empty>
        ) : (
          <table className="table claims-table">
            <caption className="visually-hidden">Active capacity claims</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Agent</th>
                <th scope="col" className="numeric">
                  Cores
                </th>
                <th scope="col" className="numeric">
                  Memory
                </th>
                <th scope="col">GPUs</th>
                <th scope="col" className="numeric">
                  Lease left
                </th>
                <th scope="col">Claimed by</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {state.claims.map((c) => (
                <tr key={c.claim_id}>
                  <td>{c.job}</td>
                  <td>
                    <Link to={{ page: 'agent', agentId: c.agent_id }}>{c.agent_id}</Link>
                  </td>
                  <td className="numeric">{formatNumber(c.cpu_cores)}</td>
                  <td className="numeric">{formatGb(c.memory_gb)}</td>
                  <td>
                    {c.gpu_count === 0
                      ? '—'
                      : `${c.gpus ? c.gpus.map((g) => `#${g.index}`).join(', ') : `${c.gpu_count} GPU`} × ${formatGb(c.gpu_vram_gb)}`}
                  </td>
                  <td className="numeric">{leaseLeft(c.expires_at, state.at)}</td>
                  <td>{c.claimed_by}</td>
                  <td>
                    <button type="button" className="button ghost" onClick={() => void release(c.claim_id)}>
                      Release
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ))}
    </section>
  );
}
