import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { chooseResolution, fleetResolution, MAX_SPAN_MS } from '../src/api/metrics.js';
import { DAY_MS, type Retention } from '../src/store/retention.js';
import { AGENT_FIGURES, HOST_FIGURES, HOUR_MS, MINUTE_MS } from '../src/store/rollups.js';
import { readSealed } from '../src/store/sealing.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

/**
 * The hourly rollups against the raw rows they summarise (computed here, independently, in
 * JavaScript), rows arriving late into rolled minutes, the range API's choice of resolution (minutes
 * summed from raw samples and sealed blocks, days from hours) and the fleet chart, on both databases.
 */

const START = Date.UTC(2026, 0, 10, 10, 37, 3);
const AGENTS = ['r-1', 'r-2', 'r-3'];
const STEP_MS = 15_000;
const SAMPLES = 600; // 2.5 hours of 15 s heartbeats: four hourly buckets, 150 minutes

type Row = Record<string, number | string | null>;

interface Stats {
  n: number;
  sum: number;
  min: number | null;
  max: number | null;
  last: number | null;
}
interface Bucket {
  samples: number;
  last_at: number;
  figures: Record<string, Stats>;
}

/** What a bucket must hold, computed from raw rows the slow, obvious way. */
function aggregate(rows: Row[], key: string, figures: readonly string[], size: number): Map<string, Bucket> {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const k = `${r[key]}|${Math.floor(Number(r.received_at) / size) * size}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out = new Map<string, Bucket>();
  for (const [k, list] of groups) {
    const latest = list.reduce((a, b) =>
      Number(b.received_at) > Number(a.received_at) || (b.received_at === a.received_at && Number(b.id) > Number(a.id)) ? b : a,
    );
    const stats: Record<string, Stats> = {};
    for (const f of figures) {
      const values = list
        .map((r) => r[f])
        .filter((v): v is number => v !== null && v !== undefined)
        .map(Number);
      stats[f] = {
        n: values.length,
        sum: values.reduce((a, b) => a + b, 0),
        min: values.length ? Math.min(...values) : null,
        max: values.length ? Math.max(...values) : null,
        last: latest[f] === null || latest[f] === undefined ? null : Number(latest[f]),
      };
    }
    out.set(k, { samples: list.length, last_at: Number(latest.received_at), figures: stats });
  }
  return out;
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

/** Compares every stored rollup row with the buckets computed from raw, both ways. */
function assertTableMatches(stored: Row[], expected: Map<string, Bucket>, key: string, figures: readonly string[], what: string): void {
  assert.equal(stored.length, expected.size, `${what}: one row per key and bucket`);
  for (const row of stored) {
    const k = `${row[key]}|${Number(row.bucket)}`;
    const want = expected.get(k);
    assert.ok(want, `${what}: no raw rows for stored bucket ${k}`);
    assert.equal(Number(row.samples), want.samples, `${what} ${k} samples`);
    assert.equal(Number(row.last_at), want.last_at, `${what} ${k} last_at`);
    for (const f of figures) {
      const w = want.figures[f] as Stats;
      assert.equal(Number(row[`${f}_n`]), w.n, `${what} ${k} ${f}_n`);
      assert.ok(close(Number(row[`${f}_sum`]), w.sum), `${what} ${k} ${f}_sum ${row[`${f}_sum`]} vs ${w.sum}`);
      for (const part of ['min', 'max', 'last'] as const) {
        const got = row[`${f}_${part}`];
        assert.equal(got === null ? null : Number(got), w[part], `${what} ${k} ${f}_${part}`);
      }
    }
  }
}

/** Compares API points with expected buckets (or raw rows at raw resolution). */
function assertPointsMatch(points: any[], expected: Map<string, Bucket>, agent: string, figures: readonly string[], what: string): void {
  const mine = [...expected.entries()].filter(([k]) => k.startsWith(`${agent}|`)).sort((a, b) => a[0].localeCompare(b[0]));
  assert.equal(points.length, mine.length, `${what}: point count`);
  mine.sort((a, b) => Number(a[0].split('|')[1]) - Number(b[0].split('|')[1]));
  points.forEach((p, i) => {
    const [k, want] = mine[i] as [string, Bucket];
    assert.equal(p.t, Number(k.split('|')[1]), `${what}: t of point ${i}`);
    assert.equal(p.samples, want.samples, `${what} ${k} samples`);
    for (const f of figures) {
      const w = want.figures[f] as Stats;
      if (w.n === 0) {
        assert.equal(p[f], null, `${what} ${k} ${f} is null without samples`);
        continue;
      }
      assert.equal(p[f].min, w.min, `${what} ${k} ${f}.min`);
      assert.equal(p[f].max, w.max, `${what} ${k} ${f}.max`);
      assert.equal(p[f].last, w.last, `${what} ${k} ${f}.last`);
      assert.ok(close(p[f].avg, w.sum / w.n), `${what} ${k} ${f}.avg`);
    }
  });
}

/** A deterministic spread of values, fractional, with gaps where an agent measured nothing. */
function heartbeat(agent: string, i: number) {
  const a = AGENTS.indexOf(agent);
  const wave = (i * 37 + a * 11) % 100;
  return {
    agent_id: agent,
    resources: {
      cpu_percent: (wave * 0.731) % 100,
      memory_percent: 20 + (i % 13) * 1.5,
      memory_available_gb: 12.25 - (i % 7) * 0.5,
      ...(agent === 'r-3' ? {} : { gpu_vram_available_gb: 20 - (i % 5) }),
    },
    // r-2's first CPU figure is missing, as a rate with no previous sample is (never reported as 0).
    metrics: {
      memory_mb: 300 + wave * 1.25,
      ...(agent === 'r-2' && i === 0 ? {} : { cpu_percent: wave / 3 }),
      io_read_bps: i % 4 === 0 ? 0 : wave * 1024,
    },
  };
}

for (const dialect of DIALECTS) {
  describe(`rollups on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    let hub: TestHub;
    const clock = new ManualClock(START);
    const rawRows = async (): Promise<Row[]> => {
      const rows = await hub.db.all<Row>(
        `SELECT m.id, k.agent_id, m.received_at, ${AGENT_FIGURES.map((f) => `m.${f}`).join(', ')} ` +
          "FROM agent_metrics m JOIN agent_keys k ON k.agent_key = m.agent_key WHERE k.agent_id LIKE 'r-%'",
      );
      // Hours past the recent window were sealed into blocks by the rollup pass: their samples too,
      // older than every row, in stored order (ids below the rows' keep that order for `last`).
      const sealed = (await readSealed(hub.db, undefined, 0, Number.MAX_SAFE_INTEGER, Infinity)).filter((s) => s.agentId.startsWith('r-'));
      return [
        ...sealed.map((s, i) => ({ id: i - sealed.length, agent_id: s.agentId, received_at: s.sample.received_at, ...s.sample.figures })),
        ...rows,
      ];
    };
    const table = async (name: string): Promise<Row[]> => hub.db.all<Row>(`SELECT * FROM ${name} WHERE agent_id LIKE 'r-%'`);
    const mark = async (): Promise<number> =>
      Number((await hub.db.get<{ m: number }>("SELECT minute_mark AS m FROM rollup_state WHERE series = 'agent'"))?.m);

    before(async () => {
      if (skip) return;
      hub = await startTestHub(dialect, {
        clock,
        flags: ['--host-metrics-interval', '0', '--rollup-interval', '3600', '--retention-interval', '86400'],
      });
      for (const id of AGENTS) await hub.call('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 'rollup' });
      for (let i = 0; i < SAMPLES; i++) {
        const r = await hub.call('POST', '/api/v1/ingest', { heartbeats: AGENTS.map((a) => heartbeat(a, i)) });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        // Two samples in the same millisecond, the last of their minute: `last` is the one stored last.
        if (i === 103) await hub.call('POST', '/api/v1/ingest', { heartbeats: [{ ...heartbeat('r-1', 7), agent_id: 'r-1' }] });
        clock.advance(STEP_MS);
      }
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    test('hour rollups equal the aggregates of the raw rows they cover, and there is no minute table', { skip }, async () => {
      const report = await hub.rollups.runOnce();
      assert.equal(report.late, 0);
      const m = await mark();
      assert.equal(m, Math.floor((clock.now() - 5_000) / MINUTE_MS) * MINUTE_MS, 'rolled up to the last complete minute');
      const rolled = (await rawRows()).filter((r) => Number(r.received_at) < m);
      assert.ok(report.sealed > 0, 'an hour was sealed into blocks: the rows compared below include its samples');
      await assert.rejects(hub.db.get('SELECT COUNT(*) AS n FROM agent_metrics_1m'), 'the minute tier is gone (migration 0014)');
      await assert.rejects(hub.db.get('SELECT COUNT(*) AS n FROM system_metrics_1m'));
      assertTableMatches(
        await table('agent_metrics_1h'),
        aggregate(rolled, 'agent_id', AGENT_FIGURES, HOUR_MS),
        'agent_id',
        AGENT_FIGURES,
        '1h',
      );

      const again = await hub.rollups.runOnce();
      assert.equal(again.late, 0, 'a second pass with nothing new recomputes nothing');
      assertTableMatches(
        await table('agent_metrics_1h'),
        aggregate(rolled, 'agent_id', AGENT_FIGURES, HOUR_MS),
        'agent_id',
        AGENT_FIGURES,
        '1h again',
      );
    });

    test('rows arriving late into a rolled minute fix their hour', { skip }, async () => {
      await hub.rollups.runOnce();
      const now = clock.now();
      // Stamped inside minutes rolled long ago (as when another hub commits late, or the clock steps back).
      for (const at of [START + 31 * MINUTE_MS + 7_000, START + 95 * MINUTE_MS + 59_999]) {
        clock.set(at);
        const r = await hub.call('POST', '/api/v1/agents/r-1/heartbeat', { resources: { cpu_percent: 99.5 }, metrics: { memory_mb: 1 } });
        assert.equal(r.status, 200);
      }
      clock.set(now);
      const report = await hub.rollups.runOnce();
      assert.equal(report.late, 2, 'two hours recomputed');
      const m = await mark();
      const rolled = (await rawRows()).filter((r) => Number(r.received_at) < m);
      assertTableMatches(
        await table('agent_metrics_1h'),
        aggregate(rolled, 'agent_id', AGENT_FIGURES, HOUR_MS),
        'agent_id',
        AGENT_FIGURES,
        '1h',
      );
      const hour = (await table('agent_metrics_1h')).find((r) => r.agent_id === 'r-1' && Number(r.bucket) === Date.UTC(2026, 0, 10, 11));
      assert.equal(Number(hour?.memory_mb_min), 1, 'the late sample is in its hour');
    });

    test(
      'the range API reads raw for hours, minutes for a day, hours for a week, days for a year, each equal to raw',
      { skip },
      async () => {
        // Minutes after the rollup mark come from raw rows in the same answer: add some, unrolled.
        for (let i = 0; i < 6; i++) {
          await hub.call('POST', '/api/v1/ingest', { heartbeats: AGENTS.map((a) => heartbeat(a, SAMPLES + i)) });
          clock.advance(STEP_MS);
        }
        const now = clock.now();
        const all = await rawRows();
        const get = (q: string) => hub.call('GET', `/api/v1/agents/r-1/metrics?${q}`);

        const hour = await get(`since=${now - HOUR_MS}`);
        assert.equal(hour.status, 200);
        assert.equal(hour.body.resolution, 'raw');
        assert.equal(hour.body.bucket_ms, null);
        assert.deepEqual(hour.body.fields, [...AGENT_FIGURES]);
        const lastHour = all.filter((r) => r.agent_id === 'r-1' && Number(r.received_at) >= now - HOUR_MS);
        assert.equal(hour.body.points.length, lastHour.length);
        assert.ok(
          hour.body.points.every((p: any) => p.samples === 1 && (p.cpu_percent === null || p.cpu_percent.min === p.cpu_percent.max)),
        );

        const day = await get(`since=${now - DAY_MS}&until=${now}&fields=cpu_percent,memory_mb,gpu_vram_available_gb`);
        assert.equal(day.body.resolution, '1m');
        assert.equal(day.body.bucket_ms, MINUTE_MS);
        assertPointsMatch(day.body.points, aggregate(all, 'agent_id', AGENT_FIGURES, MINUTE_MS), 'r-1', day.body.fields, 'day at 1m');
        assert.deepEqual(Object.keys(day.body.points[0]), ['t', 'samples', 'cpu_percent', 'memory_mb', 'gpu_vram_available_gb']);

        const week = await get(`since=${now - 7 * DAY_MS}&until=${now}`);
        assert.equal(week.body.resolution, '1h');
        assert.ok(week.body.points.length <= 7 * 24, 'a week is at most 168 points');
        assertPointsMatch(week.body.points, aggregate(all, 'agent_id', AGENT_FIGURES, HOUR_MS), 'r-1', AGENT_FIGURES, 'week at 1h');

        // A year is 8,760 hours but a chart a few hundred pixels: days, summed from the hours in SQL.
        const year = await get(`since=${now - 365 * DAY_MS}&until=${now}&fields=cpu_percent,memory_mb`);
        assert.equal(year.status, 200);
        assert.equal(year.body.resolution, '1d');
        assert.equal(year.body.bucket_ms, DAY_MS);
        assertPointsMatch(year.body.points, aggregate(all, 'agent_id', AGENT_FIGURES, DAY_MS), 'r-1', year.body.fields, 'year at 1d');
        assert.equal(year.body.points.length, 1, 'every sample so far falls on one day');

        // An hour long past: raw samples are kept 7 days by default, then the hours answer.
        const old = `since=${START}&until=${START + HOUR_MS}&fields=memory_mb`;
        const oldDay = `since=${START}&until=${START + DAY_MS}&fields=memory_mb`;
        clock.advance(6 * DAY_MS);
        assert.equal((await get(old)).body.resolution, 'raw');
        assert.equal((await get(oldDay)).body.resolution, '1m', 'a day of minutes, summed from sealed blocks');
        clock.advance(2 * DAY_MS);
        assert.equal((await get(old)).body.resolution, '1h');
        assert.equal((await get(oldDay)).body.resolution, '1h');
        clock.set(now);
      },
    );

    test('the fleet chart sums every agent per hour (per day for long ranges), equal to raw', { skip }, async () => {
      const now = clock.now();
      const all = await rawRows();
      const figures = ['cpu_percent', 'memory_mb', 'gpu_vram_available_gb'];
      /** Per hour: the agents with a sample, and per figure the spread and the sum of the agents' averages. */
      const perHour = aggregate(all, 'agent_id', figures, HOUR_MS);
      const hours = [...new Set(all.map((r) => Math.floor(Number(r.received_at) / HOUR_MS) * HOUR_MS))].sort((a, b) => a - b);
      const hourly = hours.map((t) => {
        const mine = [...perHour.entries()].filter(([k]) => Number(k.split('|')[1]) === t).map(([, b]) => b);
        const stats: Record<string, { n: number; sum: number; min: number; max: number; total: number } | null> = {};
        for (const f of figures) {
          const had = mine.map((b) => b.figures[f] as Stats).filter((x) => x.n > 0);
          stats[f] = had.length
            ? {
                n: had.reduce((a, x) => a + x.n, 0),
                sum: had.reduce((a, x) => a + x.sum, 0),
                min: Math.min(...had.map((x) => x.min as number)),
                max: Math.max(...had.map((x) => x.max as number)),
                total: had.reduce((a, x) => a + x.sum / x.n, 0),
              }
            : null;
        }
        return { t, agents: mine.length, samples: mine.reduce((n, b) => n + b.samples, 0), stats };
      });
      // A day: its hours summed, the busiest hour's agents, the hourly totals averaged.
      const check = (body: any, size: number, what: string) => {
        const buckets = [...new Set(hours.map((t) => Math.floor(t / size) * size))];
        assert.equal(body.points.length, buckets.length, `${what}: a point per bucket`);
        body.points.forEach((p: any, i: number) => {
          const t = buckets[i] as number;
          const hs = hourly.filter((h) => Math.floor(h.t / size) * size === t);
          assert.equal(p.t, t, `${what}: t of point ${i}`);
          assert.equal(p.agents, Math.max(...hs.map((h) => h.agents)), `${what} ${t} agents`);
          assert.equal(
            p.samples,
            hs.reduce((n, h) => n + h.samples, 0),
            `${what} ${t} samples`,
          );
          for (const f of figures) {
            const had = hs.map((h) => h.stats[f]).filter((x) => x !== null && x !== undefined);
            if (had.length === 0) {
              assert.equal(p[f], null, `${what} ${t} ${f} is null`);
              continue;
            }
            assert.equal(p[f].min, Math.min(...had.map((x) => x.min)), `${what} ${t} ${f}.min`);
            assert.equal(p[f].max, Math.max(...had.map((x) => x.max)), `${what} ${t} ${f}.max`);
            const n = had.reduce((a, x) => a + x.n, 0);
            assert.ok(close(p[f].avg, had.reduce((a, x) => a + x.sum, 0) / n), `${what} ${t} ${f}.avg`);
            assert.ok(close(p[f].total, had.reduce((a, x) => a + x.total, 0) / had.length), `${what} ${t} ${f}.total`);
          }
        });
      };
      // Rolled hours come from the fleet table, the live hour from the agents' rows and raw: both are here.
      const fleetRows = await hub.db.all<{ bucket: number }>('SELECT bucket FROM fleet_metrics_1h ORDER BY bucket');
      assert.ok(fleetRows.length >= 2 && fleetRows.length < hours.length + 1, `${fleetRows.length} fleet hours stored`);
      const day = await hub.call('GET', `/api/v1/fleet/metrics?since=${now - DAY_MS}&until=${now}&fields=${figures.join(',')}`);
      assert.equal(day.status, 200, JSON.stringify(day.body));
      assert.equal(day.body.resolution, '1h');
      assert.equal(day.body.bucket_ms, HOUR_MS);
      assert.deepEqual(day.body.fields, figures);
      check(day.body, HOUR_MS, 'fleet day');
      assert.ok(day.body.points.every((p: any) => p.agents === AGENTS.length));
      const year = await hub.call('GET', `/api/v1/fleet/metrics?since=${now - 300 * DAY_MS}&fields=${figures.join(',')}`);
      assert.equal(year.body.resolution, '1d');
      check(year.body, DAY_MS, 'fleet year');
      const key = await hub.call('POST', '/api/v1/keys', { agent_id: 'r-1' });
      assert.equal((await hub.call('GET', '/api/v1/fleet/metrics', undefined, key.body.key)).status, 403, 'admin only');
    });

    test('the range API checks its fields, range and caller', { skip }, async () => {
      const now = clock.now();
      const unknown = await hub.call('GET', '/api/v1/agents/r-1/metrics?fields=cpu_percent,bogus');
      assert.equal(unknown.status, 400);
      assert.match(unknown.body.error.message, /"bogus"/);
      const backwards = await hub.call('GET', `/api/v1/agents/r-1/metrics?since=${now}&until=${now - 1}`);
      assert.equal(backwards.status, 400);
      const wide = await hub.call('GET', `/api/v1/agents/r-1/metrics?since=${now - MAX_SPAN_MS - 1}&until=${now}`);
      assert.equal(wide.status, 400);
      assert.equal(wide.body.error.code, 'VIGIL_RANGE_TOO_WIDE');
      assert.equal((await hub.call('GET', '/api/v1/agents/nobody/metrics')).status, 404);

      const key = await hub.call('POST', '/api/v1/keys', { agent_id: 'r-1' });
      assert.equal(key.status, 201);
      assert.equal((await hub.call('GET', '/api/v1/agents/r-1/metrics', undefined, key.body.key)).status, 200, 'its own history');
      assert.equal((await hub.call('GET', '/api/v1/agents/r-2/metrics', undefined, key.body.key)).status, 403, "another agent's");
      assert.equal(
        (await hub.call('GET', '/api/v1/system/metrics/range', undefined, key.body.key)).status,
        403,
        'host history is admin only',
      );
    });

    test("the hub hosts' history rolls up too, per host", { skip }, async () => {
      const base = clock.now();
      const row = (host: string, i: number) => ({
        host,
        received_at: base + i * 10_000,
        cpu_percent: (i * 7) % 100,
        cpu_cores: 4,
        cpu_load_1min: 0.5,
        cpu_load_5min: 0.4,
        cpu_load_15min: 0.3,
        memory_used_bytes: 1_000_000 + i,
        memory_limit_bytes: 8_000_000,
        memory_percent: 12.5,
        disk_used_bytes: 5_000 + i,
        disk_total_bytes: 10_000,
        io_read_bps: i === 0 ? null : 100,
        io_write_bps: 50,
      });
      for (let i = 0; i < 60; i++) {
        for (const host of ['hub-a', 'hub-b']) await hub.writer.submitOne({ kind: 'system_metrics', row: row(host, i) });
      }
      clock.set(base + 60 * 10_000 + MINUTE_MS);
      await hub.rollups.runOnce();
      const raw = await hub.db.all<Row>(`SELECT id, host, received_at, ${HOST_FIGURES.join(', ')} FROM system_metrics`);
      const m = Number((await hub.db.get<{ m: number }>("SELECT minute_mark AS m FROM rollup_state WHERE series = 'host'"))?.m);
      const rolled = raw.filter((r) => Number(r.received_at) < m);
      assertTableMatches(
        await hub.db.all<Row>('SELECT * FROM system_metrics_1h'),
        aggregate(rolled, 'host', HOST_FIGURES, HOUR_MS),
        'host',
        HOST_FIGURES,
        'host 1h',
      );

      const r = await hub.call('GET', `/api/v1/system/metrics/range?since=${base - DAY_MS}&until=${clock.now()}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.resolution, '1m');
      assert.deepEqual(
        r.body.hosts.map((h: { host: string }) => h.host),
        ['hub-a', 'hub-b'],
      );
      assert.equal(
        r.body.hosts[0].points.reduce((n: number, p: { samples: number }) => n + p.samples, 0),
        60,
      );
      const one = await hub.call('GET', `/api/v1/system/metrics/range?host=hub-b&since=${base}&fields=cpu_percent`);
      assert.equal(one.body.resolution, 'raw');
      assert.equal(one.body.hosts.length, 1);
      assert.equal(one.body.hosts[0].points.length, 60);
    });
  });
}

test('the range picks the finest table that holds its start in a chart-sized number of points', () => {
  const r: Retention = { metricsDays: 7, eventsDays: 30, errorsDays: 7, tracesDays: 30, rollup1hDays: 365 };
  const now = Date.UTC(2026, 5, 1);
  assert.equal(chooseResolution(now - 6 * HOUR_MS, now, now, r), 'raw');
  assert.equal(chooseResolution(now - 6 * HOUR_MS - 1, now, now, r), '1m');
  assert.equal(chooseResolution(now - 2 * DAY_MS, now, now, r), '1m');
  assert.equal(chooseResolution(now - 2 * DAY_MS - 1, now, now, r), '1h');
  assert.equal(chooseResolution(now - 62 * DAY_MS, now, now, r), '1h', '1,488 hours');
  assert.equal(chooseResolution(now - 62 * DAY_MS - 1, now, now, r), '1d');
  assert.equal(
    chooseResolution(now - 8 * DAY_MS, now - 8 * DAY_MS + HOUR_MS, now, r),
    '1h',
    'raw, and minutes summed from it, no longer hold it',
  );
  assert.equal(chooseResolution(now - 7 * DAY_MS, now - 6 * DAY_MS, now, r), '1m', 'minutes come from raw, kept 7 days');
  assert.equal(chooseResolution(now - 8 * DAY_MS, now - 8 * DAY_MS + HOUR_MS, now, { ...r, metricsDays: 0 }), 'raw', '0 keeps raw forever');
  assert.equal(fleetResolution(now - 7 * DAY_MS, now), '1h');
  assert.equal(fleetResolution(now - 365 * DAY_MS, now), '1d');
});
