import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { StoredError } from '../api/types.js';
import { useLive, useNow, useReconnect, useServices } from '../app/services.js';
import { formatCount } from '../ui/format.js';
import { Empty, ErrorState, Loading } from '../ui/states.js';
import { ErrorGroupList } from './ErrorGroupList.js';
import { applyReopen, groupByFingerprint, resolvedIds, type FingerprintGroup, type Reopen } from './group.js';

type Filter = 'open' | 'resolved' | 'all';
const FILTERS: { key: Filter; label: string }[] = [
  { key: 'open', label: 'Open' },
  { key: 'resolved', label: 'Resolved' },
  { key: 'all', label: 'All' },
];
const PAGE = 500;

/**
 * Errors across the fleet, one row per fingerprint. Resolve resolves every agent's group of that
 * fingerprint; Reopen, on a fully resolved one, reopens them all (the hub merges a reopened group
 * into one a repeat opened meanwhile, so an agent never has two open groups of one fingerprint).
 */
export function ErrorsPage() {
  const { api } = useServices();
  const now = useNow(5000);
  const [filter, setFilter] = useState<Filter>('open');
  const [errors, setErrors] = useState<StoredError[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const refetch = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const query = filter === 'all' ? '' : `&resolved=${filter === 'resolved'}`;
  const shows = useCallback((e: StoredError) => filter === 'all' || e.resolved === (filter === 'resolved'), [filter]);
  const load = useCallback(() => {
    setProblem(null);
    api.get<{ errors: StoredError[]; next_cursor: number | null }>(`/api/v1/errors?limit=${PAGE}${query}`).then(
      (r) => {
        setErrors(r.errors);
        setNext(r.next_cursor);
      },
      (err: unknown) => setProblem(err instanceof Error ? err.message : String(err)),
    );
  }, [api, query]);

  useEffect(() => {
    setErrors(null);
    load();
    return () => clearTimeout(refetch.current);
  }, [load]);
  useReconnect(load);
  useLive((m) => {
    if (m.type === 'error') {
      // A burst of errors is one refetch, not one per report.
      clearTimeout(refetch.current);
      refetch.current = setTimeout(load, 200);
    } else if (m.type === 'error_resolved') {
      setErrors((list) => {
        if (!list) return list;
        const updated = list.map((e) => (e.id === m.id ? { ...e, resolved: true, resolved_at: m.resolved_at } : e));
        return filter === 'open' ? updated.filter((e) => !e.resolved) : updated;
      });
    } else if (m.type === 'error_reopened') {
      setErrors((list) => list && applyReopen(list, m, shows));
    }
  });

  const more = async () => {
    if (next === null) return;
    const r = await api.get<{ errors: StoredError[]; next_cursor: number | null }>(`/api/v1/errors?limit=${PAGE}&before=${next}${query}`);
    setErrors((list) => [...(list ?? []), ...r.errors]);
    setNext(r.next_cursor);
  };

  const groups = useMemo(() => groupByFingerprint(errors ?? []), [errors]);
  const resolve = async (g: FingerprintGroup) => {
    for (const id of g.unresolved) await api.post(`/api/v1/errors/${id}/resolve`);
    setErrors((list) => {
      const updated = list?.map((e) => (g.unresolved.includes(e.id) ? { ...e, resolved: true, resolved_at: Date.now() } : e)) ?? null;
      return filter === 'open' ? (updated?.filter((e) => !e.resolved) ?? null) : updated;
    });
  };
  const reopen = async (g: FingerprintGroup) => {
    for (const id of resolvedIds(g)) {
      const r = await api.post<Reopen>(`/api/v1/errors/${id}/unresolve`);
      setErrors((list) => list && applyReopen(list, r, shows));
    }
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>Errors</h1>
        <div className="segmented" role="group" aria-label="Which errors">
          {FILTERS.map((f) => (
            <button key={f.key} type="button" aria-pressed={filter === f.key} onClick={() => setFilter(f.key)}>
              {f.label}
            </button>
          ))}
        </div>
        {errors && <span className="muted">{formatCount(groups.length)} fingerprints</span>}
      </div>
      <section className="panel">
        {problem ? (
          <ErrorState title="The errors could not be loaded" message={problem} onRetry={load} />
        ) : errors === null ? (
          <Loading label="Loading errors…" />
        ) : groups.length === 0 ? (
          <Empty title={filter === 'open' ? 'No open errors' : 'No errors'} />
        ) : (
          <ErrorGroupList groups={groups} now={now} onResolve={resolve} onReopen={reopen} />
        )}
        {next !== null && (
          <button type="button" className="button" onClick={() => void more()}>
            Load older errors
          </button>
        )}
      </section>
    </div>
  );
}
