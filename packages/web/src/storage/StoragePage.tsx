import { useCallback, useEffect, useState } from 'react';
import type { StorageReport, TableReport, TierReport } from '../api/types.js';
import { useServices } from '../app/services.js';
import { formatBytes, formatCount, formatDateTime } from '../ui/format.js';
import { ErrorState, Loading } from '../ui/states.js';

type State = { kind: 'loading' } | { kind: 'ready'; report: StorageReport } | { kind: 'error'; message: string };

const days = (d: number | null) =>
  d === null ? 'not purged' : d === 0 ? 'forever' : d < 1 ? `${Math.round(d * 24 * 10) / 10} h` : `${d} d`;

const TIER_NAMES: Record<TierReport['tier'], string> = {
  raw: 'Raw samples',
  event_ids: 'Event ids (retries)',
  '1h': 'Hour rollups',
};

/**
 * What the database holds (rows and bytes per table, files) and the size it settles at under the
 * configured retention. Measured on request only: sizing a SQLite file reads every page.
 */
export function StoragePage() {
  const { api } = useServices();
  const [state, setState] = useState<State>({ kind: 'loading' });

  const load = useCallback(() => {
    setState({ kind: 'loading' });
    api.get<StorageReport>('/api/v1/storage').then(
      (report) => setState({ kind: 'ready', report }),
      (err: unknown) => setState({ kind: 'error', message: err instanceof Error ? err.message : String(err) }),
    );
  }, [api]);
  useEffect(load, [load]);

  return (
    <div className="page">
      <div className="page-head">
        <h1>Storage</h1>
        <button type="button" className="button" onClick={load} disabled={state.kind === 'loading'}>
          Measure again
        </button>
      </div>
      {state.kind === 'loading' && <Loading label="Measuring the database…" />}
      {state.kind === 'error' && <ErrorState title="The database could not be measured" message={state.message} onRetry={load} />}
      {state.kind === 'ready' && <Report report={state.report} />}
    </div>
  );
}

function Report({ report }: { report: StorageReport }) {
  const r = report;
  return (
    <>
      <section className="cards" aria-label="Totals">
        <div className="card">
          <div className="card-label">Database</div>
          <div className="card-value" data-testid="storage-total">
            {formatBytes(r.total_bytes)}
          </div>
          <div className="card-detail">
            {r.dialect === 'sqlite' ? 'SQLite' : 'PostgreSQL'} · measured {formatDateTime(r.at)}
          </div>
        </div>
        <div className="card">
          <div className="card-label">At full retention</div>
          <div className="card-value" data-testid="storage-projected">
            {r.projected_total_bytes === null
              ? 'Not enough data yet'
              : `${r.projection.status === 'partial' ? '≥ ' : ''}${formatBytes(r.projected_total_bytes)}`}
          </div>
          <div className="card-detail" title={r.projection.method}>
            {r.projection.not_enough_data.length > 0
              ? `rate not measured yet: ${r.projection.not_enough_data.join(', ')}`
              : r.unprojected_tables.length > 0
                ? `plus ${r.unprojected_tables.join(', ')} (kept forever or unsized)`
                : 'every table projected'}
          </div>
        </div>
        {r.sqlite && (
          <div className="card">
            <div className="card-label">Files</div>
            <div className="card-value">{formatBytes(r.sqlite.file_bytes + r.sqlite.wal_bytes)}</div>
            <div className="card-detail">
              WAL {formatBytes(r.sqlite.wal_bytes)} · free pages {formatBytes(r.sqlite.free_bytes)} · auto_vacuum {r.sqlite.auto_vacuum}
            </div>
          </div>
        )}
      </section>
      <section className="panel">
        <table className="table" aria-label="Heartbeat history by tier">
          <thead>
            <tr>
              <th scope="col">Heartbeat history</th>
              <th scope="col" className="numeric">
                Bytes per heartbeat
              </th>
              <th scope="col" className="numeric">
                Kept
              </th>
              <th scope="col" className="numeric">
                At full retention
              </th>
            </tr>
          </thead>
          <tbody>
            {r.tiers.map((t) => (
              <tr key={t.tier} data-tier={t.tier}>
                <td>
                  {TIER_NAMES[t.tier]} <code className="muted">{t.table}</code>
                </td>
                <td className="numeric">{t.bytes_per_heartbeat === null ? 'not measured yet' : `${t.bytes_per_heartbeat.toFixed(1)} B`}</td>
                <td className="numeric">{days(t.retention_days)}</td>
                <td className="numeric">{formatBytes(t.projected_bytes)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p className="muted small">
          What each heartbeat costs in each tier, indexes included, per unit of time (a tier&apos;s bytes per row × its rows a day ÷
          heartbeats a day), and the tier&apos;s size at its retention from those figures.
        </p>
      </section>
      <section className="panel">
        <table className="table" aria-label="Tables">
          <thead>
            <tr>
              <th scope="col">Table</th>
              <th scope="col" className="numeric">
                Rows
              </th>
              <th scope="col" className="numeric">
                Size
              </th>
              <th scope="col" className="numeric">
                Kept
              </th>
              <th scope="col" className="numeric">
                Rows a day
              </th>
              <th scope="col" className="numeric">
                At full retention
              </th>
            </tr>
          </thead>
          <tbody>
            {[...r.tables]
              .sort((a, b) => (b.bytes ?? 0) - (a.bytes ?? 0))
              .map((t) => (
                <Row key={t.table} t={t} />
              ))}
          </tbody>
        </table>
        <p className="muted small">{r.projection.method}</p>
      </section>
    </>
  );
}

function Row({ t }: { t: TableReport }) {
  return (
    <tr data-table={t.table}>
      <td>
        <code>{t.table}</code>
      </td>
      <td className="numeric" title={t.rows_estimated ? "The planner's estimate" : undefined}>
        {t.rows_estimated ? '≈ ' : ''}
        {formatCount(t.rows)}
      </td>
      <td className="numeric">{formatBytes(t.bytes)}</td>
      <td className="numeric">{days(t.retention_days)}</td>
      <td className="numeric">{formatCount(t.rows_per_day)}</td>
      <td className="numeric">{t.projection === 'not_enough_data' ? 'not enough data yet' : formatBytes(t.projected_bytes)}</td>
    </tr>
  );
}
