import type { Db } from './db.js';
import { SEAL_AFTER_MS } from './sealing.js';
import { DAY_MS, PURGE_TARGETS, retentionDays, type PurgeTarget, type Retention } from './retention.js';

/** How each purged table's arrivals are observed: its time column, and whether ids count rows. */
const ARRIVALS: Record<PurgeTarget, { time: string; ids: boolean; windowMs: number }> = {
  agent_metrics: { time: 'received_at', ids: true, windowMs: DAY_MS },
  agent_metric_blocks: { time: 'start_at', ids: false, windowMs: DAY_MS },
  heartbeat_event_ids: { time: 'received_at', ids: false, windowMs: 3_600_000 },
  system_metrics: { time: 'received_at', ids: true, windowMs: DAY_MS },
  agent_events: { time: 'received_at', ids: true, windowMs: DAY_MS },
  llm_traces: { time: 'received_at', ids: true, windowMs: DAY_MS },
  agent_event_ids: { time: 'received_at', ids: false, windowMs: DAY_MS },
  llm_trace_ids: { time: 'received_at', ids: false, windowMs: DAY_MS },
  otlp_points: { time: 'received_at', ids: true, windowMs: DAY_MS },
  error_logs: { time: 'first_seen_at', ids: false, windowMs: DAY_MS },
  error_event_ids: { time: 'received_at', ids: false, windowMs: DAY_MS },
  agent_metrics_1h: { time: 'bucket', ids: false, windowMs: DAY_MS },
  system_metrics_1h: { time: 'bucket', ids: false, windowMs: DAY_MS },
  fleet_metrics_1h: { time: 'bucket', ids: false, windowMs: DAY_MS },
  capacity_claims: { time: 'created_at', ids: false, windowMs: DAY_MS },
  webhook_deliveries: { time: 'created_at', ids: false, windowMs: DAY_MS },
  alerts: { time: 'pending_since', ids: false, windowMs: DAY_MS },
  alert_silences: { time: 'created_at', ids: false, windowMs: DAY_MS },
};

/**
 * A rate measured over minutes, or bytes per row measured over a few rows (a table's first pages and
 * its indexes' are mostly empty), multiplied by days of retention, projects nonsense: a database of
 * 232 KB was once projected to 1.6 GB. A table is projected from its rate only once it holds this many
 * rows that arrived over at least this long.
 */
export const PROJECTION_MIN_ROWS = 1000;
export const PROJECTION_MIN_SPAN_MS = 3_600_000;

/** How a table's projection was made (`projected_bytes` is null for the last three). */
export type ProjectionBasis = 'measured_rate' | 'current_size' | 'not_enough_data' | 'kept_forever' | 'unknown_size';

export const PROJECTION_METHOD =
  'Each table retention purges: bytes per row today × rows arriving per day (measured over the last day) × its retention days (raw samples: the hours they stay rows before they are sealed into blocks), ' +
  'plus unresolved errors, which stay. Tables retention does not purge count at ' +
  `today's size. A table is projected only once it holds ${PROJECTION_MIN_ROWS.toLocaleString('en-US')} rows that arrived over at least ` +
  `${PROJECTION_MIN_SPAN_MS / 3_600_000} h; until then it counts at today's size and the total is a floor.`;

export interface TableReport {
  table: string;
  rows: number;
  rows_estimated: boolean;
  /** Table and indexes; null where the database cannot size one table apart from the others. */
  bytes: number | null;
  /** Days this table keeps (0: forever); null for tables retention does not purge. */
  retention_days: number | null;
  /** Rows arriving per day, observed over the last day. */
  rows_per_day: number | null;
  /**
   * bytes per row × rows per day × retention days (plus unresolved errors, which stay); today's size
   * for tables retention does not purge; null for a table kept forever (it has no settled size) or
   * one whose bytes are unknown.
   */
  projected_bytes: number | null;
  projection: ProjectionBasis;
}

/**
 * One tier of an agent's heartbeat history: the raw samples, the hour rollup, and
 * the window of event ids kept for retries. `bytes_per_heartbeat` is the tier's bytes per row
 * (indexes included) × its rows a day ÷ the heartbeats arriving a day: what each heartbeat costs in
 * that tier per unit of time, so the tiers compare directly (a rollup should cost a fraction of the
 * raw tier). Null until the raw tier's rate and the tier's own are measured (see the projection).
 */
export interface TierReport {
  tier: 'raw' | '1h' | 'event_ids';
  table: string;
  bytes_per_heartbeat: number | null;
  /** Heartbeats arriving a day (the raw tier's rows a day). */
  heartbeats_per_day: number | null;
  retention_days: number | null;
  /** bytes per heartbeat × heartbeats a day × retention days: the tier's size once retention is reached. */
  projected_bytes: number | null;
}

/** Days a sample stays a row before its hour is sealed: the recent window and the hour being filled. */
const ROW_DAYS = (SEAL_AFTER_MS + 3_600_000) / DAY_MS;

const TIERS: readonly { tier: TierReport['tier']; table: PurgeTarget }[] = [
  { tier: 'raw', table: 'agent_metrics' },
  { tier: 'event_ids', table: 'heartbeat_event_ids' },
  { tier: '1h', table: 'agent_metrics_1h' },
];

/**
 * Each tier's cost per heartbeat and its projection, from the tables' measured sizes and rates. The
 * raw tier is rows for a few hours, then sealed blocks: its cost is the two weighted by how long a
 * sample spends as each (blocks' cost measured once they hold enough samples, rows' until then).
 */
function tierReports(tables: readonly TableReport[], sealedSamples: number): TierReport[] {
  const byName = new Map(tables.map((t) => [t.table, t]));
  const raw = byName.get('agent_metrics');
  const perDay = raw && raw.projection === 'measured_rate' ? raw.rows_per_day : null;
  const blocks = byName.get('agent_metric_blocks');
  const sealedCost = blocks?.bytes && sealedSamples >= PROJECTION_MIN_ROWS ? blocks.bytes / sealedSamples : null;
  return TIERS.map(({ tier, table }) => {
    const t = byName.get(table);
    const measured = t !== undefined && t.projection === 'measured_rate' && t.bytes !== null && t.rows > 0 && t.rows_per_day !== null;
    let perHeartbeat =
      measured && perDay !== null && perDay > 0 ? ((t.bytes as number) / t.rows) * ((t.rows_per_day as number) / perDay) : null;
    const days = t?.retention_days ?? 0;
    if (tier === 'raw' && perHeartbeat !== null && sealedCost !== null && days > ROW_DAYS) {
      perHeartbeat = (perHeartbeat * ROW_DAYS + sealedCost * (days - ROW_DAYS)) / days;
    }
    return {
      tier,
      table,
      bytes_per_heartbeat: perHeartbeat === null ? null : Math.round(perHeartbeat * 100) / 100,
      heartbeats_per_day: perDay,
      retention_days: t?.retention_days ?? null,
      projected_bytes:
        perHeartbeat === null || perDay === null || !t?.retention_days ? null : Math.round(perHeartbeat * perDay * t.retention_days),
    };
  });
}

export interface StorageReport {
  dialect: 'sqlite' | 'postgres';
  method: 'dbstat' | 'page_count' | 'pg_total_relation_size';
  at: number;
  total_bytes: number;
  sqlite?: { file_bytes: number; wal_bytes: number; free_bytes: number; auto_vacuum: 'none' | 'full' | 'incremental' };
  retention: {
    metrics_days: number;
    events_days: number;
    errors_days: number;
    traces_days: number;
    rollup_1h_days: number;
  };
  tables: TableReport[];
  /** An agent's heartbeat history tier by tier: bytes per heartbeat and the projected size of each. */
  tiers: TierReport[];
  /**
   * The sum of the tables' projections: the size this database settles at once retention is reached.
   * Null while no table has enough data to measure its rate (`projection.status` `not_enough_data`).
   */
  projected_total_bytes: number | null;
  /** Tables left out of that sum: kept forever, or of unknown size. */
  unprojected_tables: string[];
  projection: {
    /** `partial`: some tables counted at today's size for want of data, so the total is a floor. */
    status: 'projected' | 'partial' | 'not_enough_data';
    /** How the projection is computed, in words. */
    method: string;
    /** Tables with rows, purged by retention, whose rate is not measured yet. */
    not_enough_data: string[];
  };
}

const isPurged = (t: string): t is PurgeTarget => (PURGE_TARGETS as readonly string[]).includes(t);

/**
 * Rows that arrived in the last `windowMs` (or since the first row, if it is younger), per day, and
 * how long ago the first row arrived.
 */
async function arrivals(db: Db, table: PurgeTarget, now: number): Promise<{ perDay: number | null; spanMs: number } | null> {
  const a = ARRIVALS[table];
  const first = await db.get<{ t: number | null }>(`SELECT MIN(${a.time}) AS t FROM ${table}`);
  if (first?.t === null || first?.t === undefined) return null;
  const spanMs = now - Number(first.t);
  const since = Math.max(now - a.windowMs, Number(first.t));
  // Less than a minute of history tells nothing about a day.
  if (now - since < 60_000) return { perDay: null, spanMs };
  let n: number;
  if (a.ids) {
    // Ids grow with arrival: two index lookups instead of counting a day of a big table.
    const r = await db.get<{ hi: number | null; lo: number | null }>(
      `SELECT (SELECT MAX(id) FROM ${table}) AS hi, (SELECT id FROM ${table} WHERE ${a.time} >= ? ORDER BY ${a.time} LIMIT 1) AS lo`,
      [since],
    );
    n = r?.lo === null || r?.lo === undefined ? 0 : Number(r.hi) - Number(r.lo) + 1;
  } else {
    n = Number((await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE ${a.time} >= ?`, [since]))?.n ?? 0);
  }
  return { perDay: (n * DAY_MS) / (now - since), spanMs };
}

/** What the database holds, table by table, and what it will hold at the configured retention. */
export async function storageReport(db: Db, retention: Retention, now: number): Promise<StorageReport> {
  const fp = await db.footprint();
  const unresolved = Number((await db.get<{ n: number }>('SELECT COUNT(*) AS n FROM error_logs WHERE resolved = FALSE'))?.n ?? 0);
  const tables: TableReport[] = [];
  let projectedTotal = 0;
  const unprojected: string[] = [];
  const notEnough: string[] = [];
  let measured = 0;
  for (const t of [...fp.tables].sort((a, b) => (b.bytes ?? 0) - (a.bytes ?? 0) || a.name.localeCompare(b.name))) {
    const purged = isPurged(t.name);
    const days = purged ? retentionDays(t.name as PurgeTarget, retention) : null;
    const seen = purged ? await arrivals(db, t.name as PurgeTarget, now) : null;
    const perDay = seen?.perDay ?? null;
    let projected: number | null = t.bytes;
    let basis: ProjectionBasis = t.bytes === null ? 'unknown_size' : 'current_size';
    if (days === 0 && t.rows > 0) {
      projected = null;
      basis = 'kept_forever';
    } else if (days !== null && t.bytes !== null && t.rows > 0) {
      if (perDay === null || seen === null || t.rows < PROJECTION_MIN_ROWS || seen.spanMs < PROJECTION_MIN_SPAN_MS) {
        // Counted at today's size (a floor) and named, rather than extrapolated from too little.
        basis = 'not_enough_data';
        notEnough.push(t.name);
      } else {
        const perRow = t.bytes / t.rows;
        // Samples stay rows for a few hours only; then they are counted in their blocks (sealing.ts).
        const kept = perDay * (t.name === 'agent_metrics' ? Math.min(days, ROW_DAYS) : days) + (t.name === 'error_logs' ? unresolved : 0);
        projected = Math.round(perRow * kept);
        basis = 'measured_rate';
        measured++;
      }
    }
    if (projected === null) unprojected.push(t.name);
    else projectedTotal += projected;
    tables.push({
      table: t.name,
      rows: t.rows,
      rows_estimated: t.rowsEstimated,
      bytes: t.bytes,
      retention_days: days,
      rows_per_day: perDay === null ? null : Math.round(perDay),
      projected_bytes: basis === 'not_enough_data' ? null : projected,
      projection: basis,
    });
  }
  return {
    dialect: db.dialect.name,
    method: fp.method,
    at: now,
    total_bytes: fp.totalBytes,
    ...(fp.sqlite
      ? {
          sqlite: {
            file_bytes: fp.sqlite.fileBytes,
            wal_bytes: fp.sqlite.walBytes,
            free_bytes: fp.sqlite.freeBytes,
            auto_vacuum: fp.sqlite.autoVacuum,
          },
        }
      : {}),
    retention: {
      metrics_days: retention.metricsDays,
      events_days: retention.eventsDays,
      errors_days: retention.errorsDays,
      traces_days: retention.tracesDays,
      rollup_1h_days: retention.rollup1hDays,
    },
    tables,
    tiers: tierReports(tables, Number((await db.get<{ n: number | null }>('SELECT SUM(samples) AS n FROM agent_metric_blocks'))?.n ?? 0)),
    projected_total_bytes: notEnough.length > 0 && measured === 0 ? null : projectedTotal,
    unprojected_tables: unprojected,
    projection: {
      status: notEnough.length === 0 ? 'projected' : measured === 0 ? 'not_enough_data' : 'partial',
      method: PROJECTION_METHOD,
      not_enough_data: notEnough,
    },
  };
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
function bytesText(n: number | null): string {
  if (n === null) return '?';
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${UNITS[u]}`;
}
const countText = (n: number | null): string => (n === null ? '—' : n.toLocaleString('en-US'));
const keptText = (days: number | null): string =>
  days === null ? '—' : days === 0 ? 'forever' : days < 1 ? `${Math.round(days * 24 * 10) / 10} h` : `${days} d`;

/** The report as `vigil storage` prints it: one line per table, biggest first, then the projection. */
export function formatStorageReport(r: StorageReport): string {
  const head = [`Vigil storage (${r.dialect}, sizes by ${r.method}): ${bytesText(r.total_bytes)} in all`];
  if (r.sqlite) {
    head.push(
      `  file ${bytesText(r.sqlite.file_bytes)}, WAL ${bytesText(r.sqlite.wal_bytes)}, ` +
        `free pages ${bytesText(r.sqlite.free_bytes)}, auto_vacuum ${r.sqlite.auto_vacuum}`,
    );
  }
  const rows = [
    ['table', 'rows', 'bytes', 'rows/day', 'kept', 'projected'],
    ...r.tables.map((t) => [
      t.table,
      `${t.rows_estimated ? '~' : ''}${countText(t.rows)}`,
      bytesText(t.bytes),
      countText(t.rows_per_day),
      keptText(t.retention_days),
      t.projected_bytes === null ? '—' : bytesText(t.projected_bytes),
    ]),
  ];
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((row) => (row[i] ?? '').length))) ?? [];
  const table = rows.map((row) => row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  '));
  const tiers = [
    'Heartbeat history by tier (bytes per heartbeat, indexes included; projected at retention):',
    ...r.tiers.map(
      (t) =>
        `  ${t.tier.padEnd(9)} ${t.table.padEnd(20)} ${t.bytes_per_heartbeat === null ? 'not measured yet' : `${t.bytes_per_heartbeat.toFixed(1)} B/heartbeat`}` +
        `, kept ${keptText(t.retention_days)}${t.projected_bytes === null ? '' : `, ${bytesText(t.projected_bytes)}`}`,
    ),
  ];
  const tail =
    r.projected_total_bytes === null
      ? [`Projected size at the configured retention: not enough data yet`]
      : [
          `Projected size at the configured retention: ${r.projection.status === 'partial' ? 'at least ' : ''}${bytesText(r.projected_total_bytes)}`,
        ];
  if (r.projection.not_enough_data.length > 0) {
    tail.push(`  (not enough data yet to measure the rate of: ${r.projection.not_enough_data.join(', ')})`);
  }
  if (r.unprojected_tables.length > 0) tail.push(`  (not counted, kept forever or of unknown size: ${r.unprojected_tables.join(', ')})`);
  tail.push(`  How: ${r.projection.method}`);
  return `${[...head, '', ...table, '', ...tiers, '', ...tail].join('\n')}\n`;
}
