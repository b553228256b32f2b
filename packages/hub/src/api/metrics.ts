import { Type } from 'typebox';
import { AgentMetricRange, EpochMs, FleetMetricRange, HostMetricRange } from '@vigil/protocol';
import { VigilError } from '../errors.js';
import { getAgent } from '../store/agents.js';
import type { SqlExecutor } from '../store/db.js';
import { DAY_MS, type Retention } from '../store/retention.js';
import {
  AGENT_FIGURES,
  BUCKET_MS,
  HOST_FIGURES,
  HOUR_MS,
  readBuckets,
  readFleet,
  readRaw,
  type Point,
  type RangeQuery,
  type Resolution,
} from '../store/rollups.js';
import { AgentParams } from './params.js';
import type { Routes } from './context.js';
import { assertMayWrite } from './refusals.js';
import { REFUSALS } from './responses.js';

/** Ranges up to this long read raw samples (1,440 points at a 15 s heartbeat). */
export const RAW_MAX_SPAN_MS = 6 * HOUR_MS;
/** Up to this long, minutes summed from raw samples (2,880 points at most). */
export const MINUTE_MAX_SPAN_MS = 2 * DAY_MS;
/** Up to this long, hours (1,488 points at most); longer ranges read days (366 for a year). */
export const HOUR_MAX_SPAN_MS = 62 * DAY_MS;
/** The hourly rollup's default retention, plus a day: the widest range one request may ask for. */
export const MAX_SPAN_MS = 366 * DAY_MS;
/** More raw samples than this in a short range (a very chatty agent) are answered in minutes instead. */
export const MAX_RAW_POINTS = 10_000;
const DEFAULT_SPAN_MS = HOUR_MS;

/**
 * The finest resolution that answers [since, until) in a chart-sized number of points (a chart never
 * needs more points than it has pixels), from data that still holds `since`: raw samples, and the
 * minutes summed from them, only while raw retention holds it; older ranges read hours or days.
 */
export function chooseResolution(since: number, until: number, now: number, retention: Retention): Resolution {
  const rawHolds = retention.metricsDays === 0 || since >= now - retention.metricsDays * DAY_MS;
  const span = until - since;
  if (span <= RAW_MAX_SPAN_MS && rawHolds) return 'raw';
  if (span <= MINUTE_MAX_SPAN_MS && rawHolds) return '1m';
  return span <= HOUR_MAX_SPAN_MS ? '1h' : '1d';
}

/** The fleet chart reads the hourly rollup only: minutes of a thousand agents are millions of samples. */
export const fleetResolution = (since: number, until: number): '1h' | '1d' => (until - since <= HOUR_MAX_SPAN_MS ? '1h' : '1d');

const bucketMs = (r: Resolution): number | null => (r === 'raw' ? null : BUCKET_MS[r]);

const rangeQuery = (figures: readonly string[]) =>
  Type.Object(
    {
      since: Type.Optional(EpochMs),
      until: Type.Optional(EpochMs),
      fields: Type.Optional(
        Type.String({
          maxLength: 500,
          pattern: '^[a-z0-9_]+(,[a-z0-9_]+)*$',
          description: `Comma-separated figures, default all: ${figures.join(', ')}`,
        }),
      ),
    },
    { additionalProperties: false },
  );

function parseRange(
  q: { since?: number | undefined; until?: number | undefined },
  now: number,
  defaultSpan = DEFAULT_SPAN_MS,
): { since: number; until: number } {
  const until = q.until ?? now;
  const since = q.since ?? until - defaultSpan;
  if (since >= until) throw new VigilError('VIGIL_VALIDATION', 'since must be before until');
  if (until - since > MAX_SPAN_MS)
    throw new VigilError('VIGIL_RANGE_TOO_WIDE', `since..until may span at most ${MAX_SPAN_MS / DAY_MS} days`);
  return { since, until };
}

/** The fields asked for, in the table's order (so each set of fields is one statement, however it is spelled). */
function parseFields(raw: string | undefined, known: readonly string[]): string[] {
  if (raw === undefined) return [...known];
  const asked = raw.split(',');
  const unknown = asked.filter((f) => !known.includes(f));
  if (unknown.length > 0) {
    throw new VigilError(
      'VIGIL_VALIDATION',
      `Unknown field ${unknown.map((f) => JSON.stringify(f)).join(', ')}; known: ${known.join(', ')}`,
    );
  }
  return known.filter((f) => asked.includes(f));
}

/** Reads the range at the chosen resolution; a raw range with too many samples is read in minutes. */
async function readRange(
  db: SqlExecutor,
  q: RangeQuery,
  chosen: Resolution,
): Promise<{ resolution: Resolution; points: Map<string, Point[]> }> {
  if (chosen === 'raw') {
    const raw = await readRaw(db, q, MAX_RAW_POINTS);
    if (!raw.truncated) return { resolution: 'raw', points: raw.points };
    chosen = '1m';
  }
  return { resolution: chosen, points: await readBuckets(db, q, chosen) };
}

/** `{t, samples, <figure>: {min, max, avg, last} | null, …}`: one flat object per point. */
const flat = (points: Point[] | undefined) => (points ?? []).map((p) => ({ t: p.t, samples: p.samples, ...p.figures }));

/** Metric history for charts: one agent's figures, and the hub hosts', over a time range. */
export const metricsRoutes: Routes = (app, { db, clock, retention }) => {
  app.get(
    '/api/v1/agents/:agentId/metrics',
    {
      config: { access: 'authenticated' },
      schema: {
        summary: "An agent's metric history, from raw samples or the coarsest rollup that answers the range",
        description:
          'Ranges up to 6 h read raw samples, up to 2 days minutes summed from raw samples, up to 62 days the hourly rollup, ' +
          'longer ones days summed from it (a range starting before raw retention reads hours or days). ' +
          'Each point is `{t, samples, <field>: {min, max, avg, last}}`; ' +
          'a field no sample in the bucket had is null.',
        tags: ['metrics'],
        params: AgentParams,
        querystring: rangeQuery(AGENT_FIGURES),
        response: { 200: AgentMetricRange, ...REFUSALS },
      },
    },
    async (req) => {
      const p = req.principal;
      const agentId = req.params.agentId;
      assertMayWrite(p, agentId);
      const agent = await getAgent(db, agentId);
      if (p.kind === 'pool' && agent?.pool_name !== p.pool) throw new VigilError('VIGIL_FORBIDDEN');
      if (!agent) throw new VigilError('VIGIL_AGENT_NOT_FOUND');
      const now = clock.now();
      const { since, until } = parseRange(req.query, now);
      const fields = parseFields(req.query.fields, AGENT_FIGURES);
      const { resolution, points } = await readRange(
        db,
        { series: 'agent', key: agentId, since, until, figures: fields },
        chooseResolution(since, until, now, retention),
      );
      return { agent_id: agentId, since, until, resolution, bucket_ms: bucketMs(resolution), fields, points: flat(points.get(agentId)) };
    },
  );

  app.get(
    '/api/v1/system/metrics/range',
    {
      config: { access: 'admin' },
      schema: {
        summary: "The hub hosts' metric history (every hub sharing the database), at the resolution the range calls for",
        tags: ['system'],
        querystring: Type.Object(
          { ...rangeQuery(HOST_FIGURES).properties, host: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })) },
          { additionalProperties: false },
        ),
        response: { 200: HostMetricRange, ...REFUSALS },
      },
    },
    async (req) => {
      const now = clock.now();
      const { since, until } = parseRange(req.query, now);
      const fields = parseFields(req.query.fields, HOST_FIGURES);
      const { resolution, points } = await readRange(
        db,
        { series: 'host', key: req.query.host, since, until, figures: fields },
        chooseResolution(since, until, now, retention),
      );
      const hosts = [...points.entries()].map(([host, list]) => ({ host, points: flat(list) }));
      return { since, until, resolution, bucket_ms: bucketMs(resolution), fields, hosts };
    },
  );

  app.get(
    '/api/v1/fleet/metrics',
    {
      config: { access: 'admin' },
      schema: {
        summary: "The fleet's metric history: every agent's figures summed per hour (per day past 62 days)",
        description:
          "Read from the fleet's hourly rollup (one row an hour) plus the agents' current hour and the minutes not rolled yet. " +
          'Each point is `{t, agents, samples, <field>: {min, max, avg, total}}`: `avg` averages every sample, `total` sums ' +
          "each agent's average over an hour (for a day, averaged over its hours), `agents` reported in the bucket's busiest hour.",
        tags: ['metrics'],
        querystring: rangeQuery(AGENT_FIGURES),
        response: { 200: FleetMetricRange, ...REFUSALS },
      },
    },
    async (req) => {
      // Hours are its finest buckets: a day by default.
      const { since, until } = parseRange(req.query, clock.now(), DAY_MS);
      const fields = parseFields(req.query.fields, AGENT_FIGURES);
      const resolution = fleetResolution(since, until);
      const points = await readFleet(db, { since, until, figures: fields }, resolution);
      return {
        since,
        until,
        resolution,
        bucket_ms: BUCKET_MS[resolution],
        fields,
        points: points.map((p) => ({ t: p.t, agents: p.agents, samples: p.samples, ...p.figures })),
      };
    },
  );
};
