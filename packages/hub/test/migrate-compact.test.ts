import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Db } from '../src/store/db.js';
import { agentMetrics, type MetricSample } from '../src/store/dashboard.js';
import { recordHeartbeat } from '../src/store/agents.js';
import { HEARTBEAT_EVENT_ID_WINDOW_MS } from '../src/store/heartbeat-samples.js';
import { migrate } from '../src/store/migrate.js';
import { PostgresDb } from '../src/store/postgres-db.js';
import { readBuckets, readRaw, rollupStep, MINUTE_MS } from '../src/store/rollups.js';
import { SqliteDb } from '../src/store/sqlite-db.js';
import { DIALECTS, postgresUnavailable, storeTarget, tempDir } from './support/stores.js';

/**
 * Migration 0010 on a store built by the schema before it (migrations 1 to 9, rows written the way
 * that schema's code wrote them): every sample reads back the same after the move, ids are kept (the
 * rollup job's mark stays right), recent event ids still catch retries, and progress is told.
 */

const NOW = Date.UTC(2026, 5, 1, 12);
const AGENTS = ['m-1', 'm-2', 'm-3'];
/** Samples per agent, a minute apart; ids spaced so the move takes several batches of ids. */
const SAMPLES = 120;
const ID_STEP = 1_999;

const open = (dialect: 'sqlite' | 'postgres', target: string): Db =>
  dialect === 'sqlite' ? new SqliteDb(target, { synchronous: 'full' }) : new PostgresDb({ url: target });

type OldRow = Record<string, number | string | null>;

for (const dialect of DIALECTS) {
  describe(`migration 0010 (compact samples) on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    const dir = tempDir();
    let store: { target: string; cleanup(): Promise<void> };
    let db: Db;
    let oldRows: OldRow[] = [];
    const progress: string[] = [];

    before(async () => {
      if (skip) return;
      store = await storeTarget(dialect, dir.path);
      db = open(dialect, store.target);
      assert.deepEqual(await migrate(db, NOW - 3 * 3_600_000, undefined, 9), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
      const overriding = dialect === 'postgres' ? ' OVERRIDING SYSTEM VALUE' : '';
      await db.transaction(async (tx) => {
        for (const a of AGENTS) {
          await tx.run(
            `INSERT INTO agents (agent_id, name, agent_type, status, gpu_type, last_heartbeat_at, registered_at, updated_at)
             VALUES (?, ?, 'old', 'online', 'nvidia', ?, ?, ?)`,
            [a, a, NOW, NOW - 3 * 3_600_000, NOW],
          );
        }
        let id = 1;
        for (let i = 0; i < SAMPLES; i++) {
          for (const [n, a] of AGENTS.entries()) {
            const at = NOW - (SAMPLES - i) * MINUTE_MS + n;
            // What the 0009 schema's code stored: the text id, the event id, the status and GPU as text.
            await tx.run(
              `INSERT INTO agent_metrics (id, agent_id, event_id, timestamp, received_at, status, cpu_percent, memory_mb,
                 message_count, io_read_bps, host_cpu_percent, cpu_cores_physical, memory_available_gb, gpu_type)${overriding}
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'nvidia')`,
              [
                id,
                a,
                `ev-${a}-${i}`,
                at - 30,
                at,
                i % 7 === 0 ? 'busy' : 'online',
                (i * 1.7 + n) % 100,
                300 + i / 3,
                i,
                i % 2 === 0 ? null : i * 1000,
                40 + n,
                8,
                i % 5 === 0 ? null : 12.25,
              ],
            );
            id += ID_STEP;
          }
        }
      });
      oldRows = await db.all<OldRow>(
        `SELECT id, agent_id, event_id, timestamp, received_at, status, cpu_percent, memory_mb, message_count, io_read_bps,
           host_cpu_percent, cpu_cores_physical, memory_available_gb, gpu_type FROM agent_metrics ORDER BY agent_id, received_at DESC`,
      );
      assert.equal(oldRows.length, SAMPLES * AGENTS.length);
      // 10 first; the migrations after it (several hubs, claims) follow on an empty schema change.
      assert.equal((await migrate(db, NOW, (line) => progress.push(line)))[0], 10);
    });
    after(async () => {
      if (skip) return;
      await db.close();
      await store.cleanup();
      dir.remove();
    });

    test('every sample reads back as it was stored, with its id, status and the agent GPU', { skip }, async () => {
      for (const a of AGENTS) {
        const got: MetricSample[] = await agentMetrics(db, a, 0, NOW + 1, 10_000);
        const want = oldRows.filter((r) => r.agent_id === a);
        assert.equal(got.length, want.length, `${a}: every sample moved`);
        got.forEach((g, i) => {
          const w = want[i] as OldRow;
          for (const col of ['id', 'timestamp', 'received_at', 'status', 'cpu_percent', 'memory_mb', 'message_count', 'io_read_bps']) {
            const value = (g as unknown as Record<string, unknown>)[col];
            assert.equal(
              value === null ? null : col === 'status' ? value : Number(value),
              w[col] === null ? null : col === 'status' ? w[col] : Number(w[col]),
              `${a} ${col} #${i}`,
            );
          }
          assert.equal(g.gpu_type, 'nvidia');
          assert.equal(g.error_count, null);
        });
        const raw = await readRaw(
          db,
          { series: 'agent', key: a, since: 0, until: NOW + 1, figures: ['host_cpu_percent', 'memory_available_gb'] },
          10_000,
        );
        const points = raw.points.get(a) ?? [];
        assert.equal(points.length, want.length);
        const oldest = [...want].reverse();
        points.forEach((p, i) => {
          const w = oldest[i] as OldRow;
          assert.equal(p.t, Number(w.received_at));
          assert.equal(p.figures.host_cpu_percent?.last ?? null, w.host_cpu_percent === null ? null : Number(w.host_cpu_percent));
          assert.equal(p.figures.memory_available_gb?.last ?? null, w.memory_available_gb === null ? null : Number(w.memory_available_gb));
        });
      }
    });

    test('progress is told while the rows move, and the old table is gone', { skip }, async () => {
      assert.match(progress[0] ?? '', /moving 360 heartbeat samples/);
      assert.match(progress.at(-1) ?? '', /360 of 360 samples moved \(100 %\)/);
      assert.ok(progress.length >= 3, `several progress lines: ${progress.join(' | ')}`);
      await assert.rejects(db.get('SELECT COUNT(*) AS n FROM agent_metrics_0009'));
    });

    test('rollups go on from the mark the old ids set, and charts count every sample', { skip }, async () => {
      for (;;) {
        const r = await db.transaction((tx) =>
          rollupStep(tx, db.dialect, { series: 'agent', until: NOW + MINUTE_MS, budget: 100, lateFloor: 0, now: NOW }),
        );
        if (r.done) break;
      }
      const buckets = await readBuckets(
        db,
        { series: 'agent', key: 'm-2', since: NOW - 4 * 3_600_000, until: NOW + 1, figures: ['cpu_percent'] },
        '1h',
      );
      const samples = (buckets.get('m-2') ?? []).reduce((n, p) => n + p.samples, 0);
      assert.equal(samples, SAMPLES);
      // New samples get ids after the moved ones (PostgreSQL's identity was moved past them).
      await db.transaction((tx) => recordHeartbeat(tx, db.dialect, 'm-1', { event_id: 'ev-new' }, NOW + 1000, undefined));
      const max = await db.get<{ id: number }>('SELECT MAX(id) AS id FROM agent_metrics');
      assert.equal(Number(max?.id), Math.max(...oldRows.map((r) => Number(r.id))) + 1);
    });

    test('a retry of an event stored within the window is still recognised; one older than it is stored again', { skip }, async () => {
      const recent = `ev-m-1-${SAMPLES - 1}`; // a minute before the migration
      const dup = await db.transaction((tx) => recordHeartbeat(tx, db.dialect, 'm-1', { event_id: recent }, NOW + 2000, undefined));
      assert.equal(dup.ok && dup.duplicate, true);
      const oldMinutes = Math.ceil(HEARTBEAT_EVENT_ID_WINDOW_MS / MINUTE_MS) + 1;
      const stale = `ev-m-1-${SAMPLES - oldMinutes}`;
      const again = await db.transaction((tx) => recordHeartbeat(tx, db.dialect, 'm-1', { event_id: stale }, NOW + 3000, undefined));
      assert.equal(again.ok && again.duplicate, false);
    });
  });
}
