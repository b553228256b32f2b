import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Db } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';
import { PostgresDb } from '../src/store/postgres-db.js';
import { AGENT_FIGURES, HOST_FIGURES, HOUR_MS, MINUTE_MS, readBuckets, rollupStep } from '../src/store/rollups.js';
import { SqliteDb } from '../src/store/sqlite-db.js';
import { DIALECTS, postgresUnavailable, storeTarget, tempDir } from './support/stores.js';

/**
 * Migration 0014 on a store that has minute rollups: both minute tables go, the hour rows and the
 * rollup job's mark stay, the fleet's hours are filled from the agents' hours, and the job carries
 * on from that mark, folding raw minutes into hours (the fleet's too).
 */

const NOW = Date.UTC(2026, 5, 1, 12, 30);
const HOUR = Date.UTC(2026, 5, 1, 12);

const SAMPLE =
  "INSERT INTO agent_metrics (agent_key, received_at, status, cpu_percent) VALUES ((SELECT agent_key FROM agent_keys WHERE agent_id = 'mm-1'), ?, 1, 30)";

const open = (dialect: 'sqlite' | 'postgres', target: string): Db =>
  dialect === 'sqlite' ? new SqliteDb(target, { synchronous: 'full' }) : new PostgresDb({ url: target });

/** A rollup row of `samples` samples whose figures are all `value`. */
function rollupRow(
  key: string,
  figures: readonly string[],
  bucket: number,
  samples: number,
  value: number,
): Record<string, number | string> {
  const row: Record<string, number | string> = { key, bucket, samples, last_at: bucket + 1000 };
  for (const f of figures)
    Object.assign(row, {
      [`${f}_n`]: samples,
      [`${f}_sum`]: samples * value,
      [`${f}_min`]: value,
      [`${f}_max`]: value,
      [`${f}_last`]: value,
    });
  return row;
}

async function insert(db: Db, table: string, keyCol: string, row: Record<string, number | string>): Promise<void> {
  const { key, ...rest } = row;
  const cols = [keyCol, ...Object.keys(rest)];
  await db.transaction((tx) =>
    tx.run(`INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`, [key, ...Object.values(rest)]),
  );
}

for (const dialect of DIALECTS) {
  describe(`migration 0014 (no minute rollups) on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    const dir = tempDir();
    let store: { target: string; cleanup(): Promise<void> };
    let db: Db;
    let applied: number[] = [];

    before(async () => {
      if (skip) return;
      store = await storeTarget(dialect, dir.path);
      db = open(dialect, store.target);
      await migrate(db, NOW, undefined, 12);
      // What the minute-tier code left: minutes rolled up to the mark, folded into their hour.
      await db.transaction(async (tx) => {
        await tx.run(
          "INSERT INTO agents (agent_id, name, agent_type, status, registered_at, updated_at) VALUES ('mm-1', 'mm-1', 't', 'online', ?, ?)",
          [HOUR, HOUR],
        );
        await tx.run("INSERT INTO agent_keys (agent_id) VALUES ('mm-1')");
      });
      for (let m = 0; m < 20; m++)
        await insert(db, 'agent_metrics_1m', 'agent_id', rollupRow('mm-1', AGENT_FIGURES, HOUR + m * MINUTE_MS, 4, 10));
      await insert(db, 'system_metrics_1m', 'host', rollupRow('hub-1', HOST_FIGURES, HOUR, 6, 1));
      await insert(db, 'agent_metrics_1h', 'agent_id', rollupRow('mm-1', AGENT_FIGURES, HOUR, 80, 10));
      // One raw row before the mark, already counted in the hour and seen by the job.
      await db.transaction(async (tx) => {
        await tx.run(SAMPLE, [HOUR + 19 * MINUTE_MS]);
        const seen = await tx.get<{ id: number }>('SELECT MAX(id) AS id FROM agent_metrics');
        await tx.run("INSERT INTO rollup_state (series, minute_mark, seen_id, updated_at) VALUES ('agent', ?, ?, ?)", [
          HOUR + 20 * MINUTE_MS,
          Number(seen?.id),
          NOW,
        ]);
      });
      applied = await migrate(db, NOW);
    });
    after(async () => {
      if (skip) return;
      await db.close();
      await store.cleanup();
      dir.remove();
    });

    test('the minute tables go; the hours and the mark stay', { skip }, async () => {
      assert.ok(applied.includes(14), `applied ${applied.join(', ')}`);
      await assert.rejects(db.get('SELECT COUNT(*) AS n FROM agent_metrics_1m'));
      await assert.rejects(db.get('SELECT COUNT(*) AS n FROM system_metrics_1m'));
      const hour = await db.get<{ samples: number }>("SELECT samples FROM agent_metrics_1h WHERE agent_id = 'mm-1'");
      assert.equal(Number(hour?.samples), 80);
      const mark = await db.get<{ m: number }>("SELECT minute_mark AS m FROM rollup_state WHERE series = 'agent'");
      assert.equal(Number(mark?.m), HOUR + 20 * MINUTE_MS);
      const fleet = await db.all<{ bucket: number; agents: number; samples: number; t: number }>(
        'SELECT bucket, agents, samples, cpu_percent_total AS t FROM fleet_metrics_1h',
      );
      assert.deepEqual(
        fleet.map((r) => [Number(r.bucket), Number(r.agents), Number(r.samples), Number(r.t)]),
        [[HOUR, 1, 80, 10]],
        "the fleet's hour, from the agents' hours",
      );
    });

    test('the rollup carries on from the mark: minutes after it are folded into the same hour', { skip }, async () => {
      // Ten samples after the mark; the one before it is in the hour already and must not count twice.
      await db.transaction(async (tx) => {
        for (let i = 0; i < 10; i++) await tx.run(SAMPLE, [HOUR + 20 * MINUTE_MS + i * 15_000]);
      });
      for (;;) {
        const r = await db.transaction((tx) =>
          rollupStep(tx, db.dialect, { series: 'agent', until: NOW, budget: 100, lateFloor: 0, now: NOW }),
        );
        if (r.done) break;
      }
      const hour = await db.get<{ samples: number; s: number }>(
        "SELECT samples, cpu_percent_sum AS s FROM agent_metrics_1h WHERE agent_id = 'mm-1'",
      );
      assert.equal(Number(hour?.samples), 90);
      assert.equal(Number(hour?.s), 80 * 10 + 10 * 30);
      const points = await readBuckets(
        db,
        { series: 'agent', key: 'mm-1', since: HOUR, until: HOUR + HOUR_MS, figures: ['cpu_percent'] },
        '1h',
      );
      assert.equal(points.get('mm-1')?.[0]?.samples, 90);
      const fleet = await db.get<{ samples: number; s: number }>(
        'SELECT samples, cpu_percent_sum AS s FROM fleet_metrics_1h WHERE bucket = ?',
        [HOUR],
      );
      assert.equal(Number(fleet?.samples), 90);
      assert.equal(Number(fleet?.s), 80 * 10 + 10 * 30);
    });
  });
}
