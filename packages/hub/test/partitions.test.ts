import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { ManualClock } from '../src/clock.js';
import { RetentionJob } from '../src/jobs/retention.js';
import type { Db } from '../src/store/db.js';
import { insertAgentEvent } from '../src/store/events.js';
import { migrate } from '../src/store/migrate.js';
import {
  dayStart,
  dropPartitionsBefore,
  ensurePartitionsAhead,
  partitionName,
  partitionsOf,
  PARTITION_DAYS_AHEAD,
  PARTITIONED_TABLES,
  type PartitionedTable,
} from '../src/store/partitions.js';
import { PostgresDb } from '../src/store/postgres-db.js';
import { DAY_MS, rolledUpTo, type Retention } from '../src/store/retention.js';
import { insertTrace } from '../src/store/traces.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { parseExposition, sumOf } from './support/promtool.js';
import { createPgDatabase, postgresUnavailable } from './support/stores.js';

/**
 * PostgreSQL's daily partitions of the raw metric tables (store/partitions.ts, migration 13), against
 * the real server: an existing database migrates without copying its rows, partitions are made ahead
 * at start and by the retention pass, a row for a day without one still commits, retention drops
 * whole days only below what rollups have consumed, and DDL gives up quickly behind a held lock.
 */

const NOW = Date.UTC(2026, 5, 10, 15);
const HOUR = 3_600_000;

const systemRow = (at: number, host = 'h-1') => ({
  host,
  received_at: at,
  cpu_percent: 1,
  cpu_cores: 2,
  cpu_load_1min: null,
  cpu_load_5min: null,
  cpu_load_15min: null,
  memory_used_bytes: 1,
  memory_limit_bytes: 2,
  memory_percent: 50,
  disk_used_bytes: null,
  disk_total_bytes: null,
  io_read_bps: null,
  io_write_bps: null,
});

const skip = await postgresUnavailable();
/** The tables migration 13 partitioned; migration 15 did `agent_events` and `llm_traces`. */
const METRIC_TABLES = ['agent_metrics', 'system_metrics', 'agent_metric_blocks'] as const;

describe('migration 13 on a populated PostgreSQL database', { skip }, () => {
  let db: PostgresDb;
  let drop: () => Promise<void>;
  const before12 = new Map<string, { relfilenode: number; indexes: number[]; rows: number }>();
  /** Ids handed out before the migration: the newest was deleted, so the sequence is past the largest id kept. */
  let lastIssued = 0;
  const relation = (name: string) =>
    db.get<{ relfilenode: number; kind: string; oid: number }>(
      'SELECT relfilenode, CAST(relkind AS text) AS kind, CAST(oid AS bigint) AS oid FROM pg_class WHERE relname = ?',
      [name],
    );
  const indexesOf = async (name: string) =>
    (
      await db.all<{ oid: number }>(
        'SELECT CAST(indexrelid AS bigint) AS oid FROM pg_index WHERE indrelid = to_regclass(CAST(? AS text)) ORDER BY 1',
        [name],
      )
    ).map((r) => Number(r.oid));
  const count = async (table: string) => Number((await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n);

  before(async () => {
    const created = await createPgDatabase();
    drop = created.drop;
    db = new PostgresDb({ url: created.url });
    assert.deepEqual(await migrate(db, NOW - 20 * DAY_MS, undefined, 12), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    await db.transaction(async (tx) => {
      await tx.run("INSERT INTO agent_keys (agent_id) VALUES ('a-1')");
      // Twenty days of rows, the newest an hour ahead of NOW (a clock a little ahead).
      for (let at = NOW - 20 * DAY_MS; at <= NOW + HOUR; at += 6 * HOUR) {
        await tx.run('INSERT INTO agent_metrics (agent_key, received_at, status) VALUES (1, ?, 1)', [at]);
        await tx.run(
          'INSERT INTO system_metrics (host, received_at, cpu_percent, cpu_cores, memory_used_bytes, memory_limit_bytes) VALUES (?, ?, 1, 2, 1, 2)',
          ['h-1', at],
        );
        await tx.run(
          "INSERT INTO agent_metric_blocks (agent_key, start_at, end_at, samples, data) VALUES (1, ?, ?, 1, CAST('\\x00' AS bytea))",
          [at, at + 60_000],
        );
      }
      const newest = await tx.get<{ id: number }>('SELECT MAX(id) AS id FROM agent_metrics');
      lastIssued = Number(newest?.id);
      await tx.run('DELETE FROM agent_metrics WHERE id = ?', [lastIssued]);
    });
    for (const t of METRIC_TABLES) {
      const r = await relation(t);
      before12.set(t, { relfilenode: Number(r?.relfilenode), indexes: await indexesOf(t), rows: await count(t) });
    }
    assert.deepEqual(await migrate(db, NOW, undefined, 13), [13]);
  });
  after(async () => {
    await db?.close();
    await drop?.();
  });

  test('the old tables become legacy partitions without a row copied or an index rebuilt', async () => {
    const bound = dayStart(NOW) + DAY_MS;
    for (const t of METRIC_TABLES) {
      const old = before12.get(t);
      assert.equal((await relation(t))?.kind, 'p', `${t} is partitioned`);
      const legacy = await relation(`${t}_legacy`);
      assert.equal(legacy?.kind, 'r');
      assert.equal(Number(legacy?.relfilenode), old?.relfilenode, `${t}: the legacy partition is the old table's file, not a copy`);
      assert.deepEqual(await indexesOf(`${t}_legacy`), old?.indexes, `${t}: ATTACH adopted the old indexes, built none`);
      assert.equal(await count(t), old?.rows, `${t}: every row is still there`);
      assert.equal(await count(`${t}_legacy`), old?.rows, `${t}: all of them in the legacy partition`);
      const parts = await partitionsOf(db, t);
      assert.deepEqual(parts[0], { name: `${t}_legacy`, from: null, to: bound });
      // From the legacy bound (after the newest row's day) to three days after NOW's.
      assert.deepEqual(
        parts.slice(1).map((p) => [p.from, p.to]),
        Array.from({ length: PARTITION_DAYS_AHEAD }, (_, i) => [bound + i * DAY_MS, bound + (i + 1) * DAY_MS]),
      );
    }
  });

  test('new ids continue above every id handed out before', async () => {
    for (const [t, insert] of [
      ['agent_metrics', 'INSERT INTO agent_metrics (agent_key, received_at, status) VALUES (1, ?, 1) RETURNING id'],
      ['system_metrics', "INSERT INTO system_metrics (host, received_at) VALUES ('h-1', ?) RETURNING id"],
    ] as const) {
      const row = await db.transaction((tx) => tx.get<{ id: number }>(insert, [dayStart(NOW) + DAY_MS + HOUR]));
      const oldMax = Number((await db.get<{ id: number }>(`SELECT MAX(id) AS id FROM ${t}_legacy`))?.id);
      assert.ok(Number(row?.id) > oldMax, `${t}: ${row?.id} > ${oldMax}`);
      if (t === 'agent_metrics') assert.ok(Number(row?.id) > lastIssued, `${row?.id} > ${lastIssued}, the deleted newest id`);
    }
  });

  test('the legacy partition ages out whole once past retention', async () => {
    const legacyTo = dayStart(NOW) + DAY_MS;
    const r = await dropPartitionsBefore(db, 'agent_metric_blocks', legacyTo);
    assert.deepEqual(r.dropped, ['agent_metric_blocks_legacy']);
    assert.equal(r.rows, before12.get('agent_metric_blocks')?.rows);
    assert.equal(await relation('agent_metric_blocks_legacy'), undefined);
    assert.equal(await count('agent_metric_blocks'), 0);
  });
});

describe('migration 15 on a populated PostgreSQL database', { skip }, () => {
  let db: PostgresDb;
  let drop: () => Promise<void>;
  const TABLES = ['agent_events', 'llm_traces'] as const;
  const UNIQUE = { agent_events: 'idx_agent_events_event_id', llm_traces: 'idx_llm_traces_event_id' } as const;
  const ID_TABLE = { agent_events: 'agent_event_ids', llm_traces: 'llm_trace_ids' } as const;
  const before14 = new Map<string, { relfilenode: number; indexes: number[]; rows: number; pairs: string[]; lastIssued: number }>();
  const relation = (name: string) =>
    db.get<{ relfilenode: number; kind: string }>('SELECT relfilenode, CAST(relkind AS text) AS kind FROM pg_class WHERE relname = ?', [
      name,
    ]);
  const indexesOf = async (name: string, except?: string) =>
    (
      await db.all<{ oid: number }>(
        'SELECT CAST(i.indexrelid AS bigint) AS oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid ' +
          'WHERE i.indrelid = to_regclass(CAST(? AS text)) AND c.relname <> ? ORDER BY 1',
        [name, except ?? ''],
      )
    ).map((r) => Number(r.oid));
  const count = async (table: string) => Number((await db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`))?.n);
  /** `agent/event_id=id` of every row with an event id, sorted. */
  const pairs = async (table: string) =>
    (await db.all<{ k: string }>(`SELECT agent_id || '/' || event_id || '=' || id AS k FROM ${table} WHERE event_id IS NOT NULL`))
      .map((r) => r.k)
      .sort();

  before(async () => {
    const created = await createPgDatabase();
    drop = created.drop;
    db = new PostgresDb({ url: created.url });
    assert.deepEqual(await migrate(db, NOW - 20 * DAY_MS, undefined, 14), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
    await db.transaction(async (tx) => {
      for (const a of ['a-1', 'a-2']) {
        await tx.run(
          "INSERT INTO agents (agent_id, name, agent_type, status, registered_at, updated_at) VALUES (?, ?, 'test', 'online', ?, ?)",
          [a, a, NOW - 20 * DAY_MS, NOW - 20 * DAY_MS],
        );
      }
      let n = 0;
      // Twenty days of rows, the newest an hour ahead of NOW; every third without an event id.
      for (let at = NOW - 20 * DAY_MS; at <= NOW + HOUR; at += 6 * HOUR) {
        for (const a of ['a-1', 'a-2']) {
          const eventId = ++n % 3 === 0 ? null : `id-${n}`;
          await tx.run(
            "INSERT INTO agent_events (agent_id, event_id, event_type, message, timestamp, received_at) VALUES (?, ?, 'info', 'm', ?, ?)",
            [a, eventId, at, at],
          );
          await tx.run("INSERT INTO llm_traces (agent_id, event_id, model, timestamp, received_at) VALUES (?, ?, 'm', ?, ?)", [
            a,
            eventId,
            at,
            at,
          ]);
        }
      }
    });
    for (const t of TABLES) {
      const newest = Number((await db.get<{ id: number }>(`SELECT MAX(id) AS id FROM ${t}`))?.id);
      await db.transaction((tx) => tx.run(`DELETE FROM ${t} WHERE id = ?`, [newest]));
      const r = await relation(t);
      before14.set(t, {
        relfilenode: Number(r?.relfilenode),
        indexes: await indexesOf(t, UNIQUE[t]),
        rows: await count(t),
        pairs: await pairs(t),
        lastIssued: newest,
      });
    }
    assert.deepEqual(await migrate(db, NOW, undefined, 15), [15]);
  });
  after(async () => {
    await db?.close();
    await drop?.();
  });

  test('agent_events and llm_traces become legacy partitions without a row copied or an index rebuilt', async () => {
    const bound = dayStart(NOW) + DAY_MS;
    for (const t of TABLES) {
      const old = before14.get(t);
      assert.equal((await relation(t))?.kind, 'p', `${t} is partitioned`);
      const legacy = await relation(`${t}_legacy`);
      assert.equal(Number(legacy?.relfilenode), old?.relfilenode, `${t}: the legacy partition is the old table's file, not a copy`);
      assert.deepEqual(
        await indexesOf(`${t}_legacy`),
        old?.indexes,
        `${t}: ATTACH adopted the old indexes (less the unique one), built none`,
      );
      assert.equal(await relation(UNIQUE[t]), undefined, `${t}: the unique (agent_id, event_id) index is gone`);
      assert.equal(await count(t), old?.rows);
      const parts = await partitionsOf(db, t);
      assert.deepEqual(parts[0], { name: `${t}_legacy`, from: null, to: bound });
      assert.equal(parts.length, 1 + PARTITION_DAYS_AHEAD);
      // No foreign key to agents on the parent or the legacy partition: ATTACH and DROP would lock agents.
      const fks = await db.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM pg_constraint WHERE contype = 'f' AND conrelid IN (to_regclass(CAST(? AS text)), to_regclass(CAST(? AS text)))",
        [t, `${t}_legacy`],
      );
      assert.equal(Number(fks?.n), 0);
    }
  });

  test('the id tables hold every stored (agent, event id) with its row id, and new ids continue above every id handed out', async () => {
    for (const t of TABLES) {
      const ids = await db.all<{ k: string }>(`SELECT agent_id || '/' || event_id || '=' || id AS k FROM ${ID_TABLE[t]}`);
      const expected = before14.get(t)?.pairs ?? [];
      assert.ok(expected.length > 20);
      assert.deepEqual(ids.map((r) => r.k).sort(), expected);
    }
    const ev = await db.transaction((tx) =>
      insertAgentEvent(tx, 'a-1', { event_type: 'info', message: 'new', event_id: 'after-15' }, dayStart(NOW) + DAY_MS + HOUR),
    );
    assert.ok(ev.id > (before14.get('agent_events')?.lastIssued ?? Infinity), `${ev.id} is above the deleted newest id`);
    const tr = await db.transaction((tx) => insertTrace(tx, 'a-1', { model: 'm', event_id: 'after-15' }, dayStart(NOW) + DAY_MS + HOUR));
    assert.ok(tr.id > (before14.get('llm_traces')?.lastIssued ?? Infinity), `${tr.id} is above the deleted newest id`);
  });

  test('a retry of an event or call stored before the migration is recognised, with its old id', async () => {
    const [pair] = before14.get('agent_events')?.pairs ?? [];
    const m = /^([^/]+)\/(.+)=(\d+)$/.exec(pair ?? '');
    assert.ok(m);
    const [, agent, eventId, id] = m as unknown as [string, string, string, string];
    const ev = await db.transaction((tx) => insertAgentEvent(tx, agent, { event_type: 'info', message: 'again', event_id: eventId }, NOW));
    assert.deepEqual(ev, { id: Number(id), duplicate: true });
    const tr = await db.transaction((tx) => insertTrace(tx, agent, { model: 'm', event_id: eventId }, NOW));
    assert.equal(tr.duplicate, true);
    assert.equal(await count("agent_events WHERE message = 'again'"), 0);
  });
});

describe('daily partitions on a running hub', { skip }, () => {
  let hub: TestHub;
  const clock = new ManualClock(NOW);
  const RETENTION: Retention = { metricsDays: 7, eventsDays: 7, errorsDays: 7, tracesDays: 7, rollup1hDays: 365 };

  before(async () => {
    hub = await startTestHub('postgres', {
      clock,
      flags: ['--host-metrics-interval', '0', '--rollup-interval', '3600', '--retention-interval', '86400'],
    });
    assert.equal((await hub.call('POST', '/api/v1/agents', { agent_id: 'p-1', name: 'p-1', agent_type: 'parts' })).status, 201);
    // The hub's own passes at start run in the background: let them end before rows are written,
    // or its retention pass would drop the old days the tests write.
    await hub.rollups.runOnce();
    await hub.retention.runOnce();
  });
  after(async () => {
    await hub?.close();
  });

  test('a new database has partitions for today and the next days from the start, and no legacy partition', async () => {
    for (const t of PARTITIONED_TABLES) {
      const parts = await partitionsOf(hub.db, t);
      assert.deepEqual(
        parts.map((p) => p.name),
        Array.from({ length: PARTITION_DAYS_AHEAD + 1 }, (_, i) => partitionName(t, dayStart(NOW) + i * DAY_MS)),
      );
    }
  });

  test('a write for a day without a partition makes it and commits', async () => {
    const far = NOW + 40 * DAY_MS;
    clock.set(far);
    assert.equal(
      (await hub.call('POST', '/api/v1/agents/p-1/heartbeat', { event_id: 'far-1', resources: { cpu_percent: 5 } })).status,
      200,
    );
    await hub.writer.submitOne({ kind: 'system_metrics', row: systemRow(far) });
    for (const t of ['agent_metrics', 'system_metrics'] as const) {
      assert.ok(
        (await partitionsOf(hub.db, t)).some((p) => p.name === partitionName(t, far)),
        `${t}: the day's partition was made`,
      );
      const n = await hub.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${partitionName(t, far)}`);
      assert.equal(Number(n?.n), 1);
    }
    clock.set(NOW);
  });

  test('a retried event or LLM call is stored once, also when the retry lands on another day', async () => {
    const day1 = NOW + 5 * DAY_MS;
    const day2 = day1 + 2 * DAY_MS;
    const sends = [
      { path: '/api/v1/agents/p-1/events', body: { event_type: 'info', message: 'once', event_id: 'retry-ev' }, table: 'agent_events' },
      { path: '/api/v1/agents/p-1/traces', body: { model: 'm', event_id: 'retry-tr' }, table: 'llm_traces' },
    ] as const;
    for (const { path, body, table } of sends) {
      clock.set(day1);
      const first = await hub.call('POST', path, body);
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.equal(first.body.duplicate, false);
      // The same day, then two days later: another partition, which no unique index spans.
      const same = await hub.call('POST', path, body);
      clock.set(day2);
      const later = await hub.call('POST', path, body);
      for (const retry of [same, later]) assert.deepEqual([retry.status, retry.body], [200, { id: first.body.id, duplicate: true }]);
      const rows = await hub.db.all<{ id: number; received_at: number }>(
        `SELECT id, received_at FROM ${table} WHERE agent_id = 'p-1' AND event_id = ?`,
        [body.event_id],
      );
      assert.deepEqual(
        rows.map((r) => [Number(r.id), Number(r.received_at)]),
        [[first.body.id, day1]],
      );
    }
    // An OTLP span's derived id goes through the same table.
    const span = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'vigil.agent_id', value: { stringValue: 'p-1' } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: '5b8efff798038103d269b633813fc60c',
                  spanId: 'eee19b7ec3c1b174',
                  name: 'chat m',
                  startTimeUnixNano: `${BigInt(day2) * 1_000_000n}`,
                  endTimeUnixNano: `${BigInt(day2 + 100) * 1_000_000n}`,
                  attributes: [
                    { key: 'gen_ai.system', value: { stringValue: 'openai' } },
                    { key: 'gen_ai.request.model', value: { stringValue: 'm' } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    };
    clock.set(day1);
    assert.equal((await hub.call('POST', '/v1/traces', span)).status, 200);
    clock.set(day2);
    assert.equal((await hub.call('POST', '/v1/traces', span)).status, 200);
    const spans = await hub.db.get<{ n: number }>(
      "SELECT COUNT(*) AS n FROM llm_traces WHERE agent_id = 'p-1' AND span_id = 'eee19b7ec3c1b174'",
    );
    assert.equal(Number(spans?.n), 1);
    clock.set(NOW);
  });

  test('two hubs meeting the same missing day at once both store their rows, in one partition', async () => {
    const other = new PostgresDb({ url: hub.target });
    const day = NOW + 500 * DAY_MS;
    const insert = (db: Db, i: number) =>
      db.transaction((tx) => tx.run("INSERT INTO system_metrics (host, received_at) VALUES ('race', ?)", [day + i]));
    try {
      await Promise.all([0, 1, 2, 3, 4, 5].map((i) => insert(i % 2 === 0 ? hub.db : other, i)));
    } finally {
      await other.close();
    }
    const n = await hub.db.get<{ n: number }>("SELECT COUNT(*) AS n FROM system_metrics WHERE host = 'race'");
    assert.equal(Number(n?.n), 6);
    const holding = (await partitionsOf(hub.db, 'system_metrics')).filter((p) => p.from !== null && p.from <= day && day < p.to);
    assert.deepEqual(
      holding.map((p) => p.name),
      [partitionName('system_metrics', day)],
    );
  });

  test('retention drops whole days past retention, and only below what rollups have consumed', async () => {
    // Host samples (never sealed) on days 20, 12 and 6 ago, and the day itself.
    for (const age of [20, 12, 6, 0]) {
      for (let i = 0; i < 3; i++) await hub.writer.submitOne({ kind: 'system_metrics', row: systemRow(NOW - age * DAY_MS + i * HOUR) });
    }
    const job = (now: number) =>
      new RetentionJob(hub.writer, hub.db, new ManualClock(now), { everyMs: 86_400_000, retention: RETENTION, onError: () => undefined });
    const rows = async () =>
      Number((await hub.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM system_metrics WHERE received_at < ?', [NOW - 7 * DAY_MS]))?.n);
    // Nothing rolled up yet: however old, the host samples stay, and so do their days.
    await hub.db.transaction((tx) => tx.run("DELETE FROM rollup_state WHERE series = 'host'"));
    const kept = await job(NOW).runOnce();
    assert.deepEqual(
      kept.partitions.dropped.filter((p) => p.startsWith('system_metrics')),
      [],
    );
    assert.equal(await rows(), 6);
    // Rolled up to 10 days ago: the days 20 and 12 ago are wholly below both the cutoff (7 days)
    // and the mark, and go whole.
    await hub.db.transaction((tx) =>
      tx.run(
        "INSERT INTO rollup_state (series, minute_mark, seen_id, updated_at) VALUES ('host', ?, 0, ?) " +
          'ON CONFLICT (series) DO UPDATE SET minute_mark = excluded.minute_mark',
        [dayStart(NOW - 10 * DAY_MS) + 5 * HOUR, NOW],
      ),
    );
    const partial = await job(NOW).runOnce();
    assert.deepEqual(
      partial.partitions.dropped.filter((p) => p.startsWith('system_metrics')),
      [partitionName('system_metrics', NOW - 20 * DAY_MS), partitionName('system_metrics', NOW - 12 * DAY_MS)],
    );
    assert.equal(partial.deleted.system_metrics, 6, 'rows of dropped partitions count as purged');
    assert.equal(await rows(), 0);
    // The day 6 ago is within retention: kept, partition and rows.
    assert.ok((await partitionsOf(hub.db, 'system_metrics')).some((p) => p.name === partitionName('system_metrics', NOW - 6 * DAY_MS)));
  });

  test('the day straddling the cutoff is purged row by row, exactly', async () => {
    const at = NOW + 60 * DAY_MS;
    // Samples 8 days before `at` in the morning and the evening; the cutoff falls between them.
    const cutoff = at - 7 * DAY_MS;
    const day = dayStart(cutoff);
    const early = day + HOUR;
    const late = day + 23 * HOUR;
    assert.ok(early < cutoff && late >= cutoff);
    for (const t of [early, late]) await hub.writer.submitOne({ kind: 'system_metrics', row: systemRow(t, 'h-straddle') });
    await hub.db.transaction((tx) => tx.run("UPDATE rollup_state SET minute_mark = ? WHERE series = 'host'", [at]));
    const r = await new RetentionJob(hub.writer, hub.db, new ManualClock(at), {
      everyMs: 86_400_000,
      retention: RETENTION,
      onError: () => undefined,
    }).runOnce();
    assert.ok(!r.partitions.dropped.includes(partitionName('system_metrics', day)));
    const left = await hub.db.all<{ received_at: number }>("SELECT received_at FROM system_metrics WHERE host = 'h-straddle'");
    assert.deepEqual(
      left.map((x) => Number(x.received_at)),
      [late],
    );
    // The pass made the partitions ahead of its clock.
    assert.ok(r.partitions.created.includes(partitionName('agent_metrics', at + PARTITION_DAYS_AHEAD * DAY_MS)));
  });

  test('the storage report counts a partitioned table once, its partitions summed', async () => {
    const r = await hub.call('GET', '/api/v1/storage');
    assert.equal(r.status, 200);
    const tables = r.body.tables as { table: string; bytes: number; rows: number }[];
    assert.deepEqual(
      tables.filter((t) => /_p\d{8}$/.test(t.table)),
      [],
      'no partition listed as a table',
    );
    const sm = tables.find((t) => t.table === 'system_metrics');
    const sum = await hub.db.get<{ bytes: number }>(
      "SELECT SUM(pg_total_relation_size(relid)) AS bytes FROM pg_partition_tree('system_metrics') WHERE isleaf",
    );
    assert.equal(sm?.bytes, Number(sum?.bytes));
    assert.ok((sm?.bytes ?? 0) > 0);
    const n = await hub.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM system_metrics');
    assert.equal(sm?.rows, Number(n?.n));
  });

  test("the hub's retention pass makes the days ahead of its clock and drops past ones, and /metrics counts them", async () => {
    clock.set(NOW + 1_000 * DAY_MS);
    const r = await hub.retention.runOnce();
    assert.equal(r.partitions.created.length, PARTITIONED_TABLES.length * (PARTITION_DAYS_AHEAD + 1));
    assert.ok(r.partitions.dropped.length > 0);
    // Every day left is within retention (7 days by default), or ahead, or (raw samples) not yet rolled up.
    for (const t of PARTITIONED_TABLES) {
      const bound = Math.min(NOW + 993 * DAY_MS, await rolledUpTo(hub.db, t));
      for (const p of await partitionsOf(hub.db, t)) assert.ok(p.to > bound, `${t}: ${p.name} should have gone`);
    }
    assert.ok(
      (await partitionsOf(hub.db, 'agent_metrics')).some((p) => p.name === partitionName('agent_metrics', NOW)),
      "the day of the agent series' rollup mark stays: its rows are not rolled up",
    );
    const metrics = await hub.call('GET', '/metrics');
    assert.equal(metrics.status, 200);
    const samples = parseExposition(String(metrics.body));
    assert.equal(sumOf(samples, 'vigil_partitions_total', { action: 'dropped' }), r.partitions.dropped.length);
    assert.ok(sumOf(samples, 'vigil_partitions_total', { action: 'created' }) >= r.partitions.created.length);
    clock.set(NOW);
  });

  test('partition DDL behind a held lock gives up within its lock_timeout, and succeeds on a later pass', async () => {
    const holder = new pg.Client({ connectionString: hub.target });
    await holder.connect();
    const at = NOW + 200 * DAY_MS;
    const mine = (t: PartitionedTable, names: string[]) => names.filter((n) => n.startsWith(`${t}_p`));
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE agent_metrics IN ACCESS EXCLUSIVE MODE');
      const started = performance.now();
      const r = await ensurePartitionsAhead(hub.db, at, 200);
      const ms = performance.now() - started;
      assert.equal(mine('agent_metrics', r.locked).length, PARTITION_DAYS_AHEAD + 1, 'every agent_metrics day gave up');
      assert.deepEqual(mine('agent_metrics', r.created), []);
      assert.equal(mine('system_metrics', r.created).length, PARTITION_DAYS_AHEAD + 1, 'the other tables went on');
      assert.ok(ms < 5_000, `gave up in ${Math.round(ms)} ms`);
    } finally {
      await holder.query('ROLLBACK');
      await holder.end();
    }
    const again = await ensurePartitionsAhead(hub.db, at, 200);
    assert.equal(mine('agent_metrics', again.created).length, PARTITION_DAYS_AHEAD + 1);
    assert.deepEqual(again.locked, []);
  });

  test('behind a long reader, ATTACH goes ahead, and a DETACH waiting its turn holds writers back no longer than its lock_timeout', async () => {
    const reader = new pg.Client({ connectionString: hub.target });
    await reader.connect();
    const at = NOW + 300 * DAY_MS;
    try {
      await reader.query('BEGIN');
      await reader.query('SELECT COUNT(*) FROM agent_metrics');
      // ATTACH takes SHARE UPDATE EXCLUSIVE on the parent, which a reader's ACCESS SHARE does not block.
      const made = await ensurePartitionsAhead(hub.db, at, 200);
      assert.equal(made.created.filter((n) => n.startsWith('agent_metrics_p')).length, PARTITION_DAYS_AHEAD + 1);
      // DETACH needs ACCESS EXCLUSIVE: it queues behind the reader, and writers queue behind it.
      clock.set(NOW);
      const drop = dropPartitionsBefore(hub.db, 'agent_metrics', at, 1_000);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = performance.now();
      const hb = await hub.call('POST', '/api/v1/agents/p-1/heartbeat', { event_id: 'behind-detach' });
      const waited = performance.now() - started;
      assert.equal(hb.status, 200);
      const dropped = await drop;
      assert.deepEqual(dropped.dropped, [], 'nothing dropped while the reader holds the table');
      assert.ok(dropped.locked.length > 0);
      assert.ok(waited < 3_000, `the heartbeat waited ${Math.round(waited)} ms behind the DETACH`);
    } finally {
      await reader.query('ROLLBACK');
      await reader.end();
    }
  });
});
