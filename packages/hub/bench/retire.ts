/**
 * `npm run bench:retire`: what deleting an agent with a long history costs on SQLite (FULL), and
 * how long it holds the single writer, against the same history deleted in one transaction.
 *
 * Two agents get identical histories of BENCH_ROWS heartbeats (and a tenth as many events), straight
 * into the hub's own schema. Agent A is deleted the naive way (one transaction, one DELETE per
 * table: the baseline); agent B in `purgeAgentHistory` steps of a fixed 5,000 rows, each its own
 * transaction (the hub before 2026-12-06); agent C as the hub does it now, steps sized by their own
 * time like retention's purge batches (first 1,000 rows, then `resizePurge` towards STEP_TARGET_MS).
 * Reports the total time and the longest single transaction of each, which is how long ingest would
 * wait behind it.
 *
 * Environment: BENCH_ROWS (100000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore } from '../src/store/open.js';
import { STEP_TARGET_MS } from '../src/jobs/passes.js';
import { PURGE_BATCH_ROWS, PURGE_START_ROWS, resizePurge } from '../src/jobs/retention.js';
import { deleteAgent, purgeAgentHistory } from '../src/store/retire.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const STEP_ROWS = 5_000;
const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-retire-'));
const log = (line: string) => process.stdout.write(`${line}\n`);

try {
  const now = Date.now();
  const { db } = await openStore(join(dir, 'vigil.db'), { sqliteSynchronous: 'full', now });
  for (const id of ['a', 'b', 'c']) {
    await db.transaction(async (tx) => {
      await tx.run(
        `INSERT INTO agents (agent_id, name, agent_type, status, registered_at, updated_at) VALUES (?, ?, 'bench', 'online', ?, ?)`,
        [id, id, now, now],
      );
      await tx.run('INSERT INTO agent_keys (agent_id) VALUES (?)', [id]);
      for (let i = 0; i < ROWS; i++) {
        const at = now - (ROWS - i) * 15_000;
        await tx.run(
          `INSERT INTO agent_metrics (agent_key, timestamp, received_at, status, cpu_percent, memory_mb)
           VALUES ((SELECT agent_key FROM agent_keys WHERE agent_id = ?), ?, ?, 1, 12.5, 512)`,
          [id, at, at],
        );
        if (i % 10 === 0) {
          await tx.run(
            `INSERT INTO agent_events (agent_id, event_id, event_type, message, timestamp, received_at) VALUES (?, ?, 'info', 'x', ?, ?)`,
            [id, `${id}-e${i}`, at, at],
          );
        }
      }
    });
  }
  log(`history per agent: ${ROWS} metric rows, ${ROWS / 10} events`);

  const t = performance.now();
  await db.transaction(async (tx) => {
    await tx.run("DELETE FROM agent_metrics WHERE agent_key = (SELECT agent_key FROM agent_keys WHERE agent_id = 'a')");
    await tx.run('DELETE FROM agent_events WHERE agent_id = ?', ['a']);
  });
  const oneTx = performance.now() - t;
  log(`baseline, one transaction: ${oneTx.toFixed(0)} ms (the writer is held all that time)`);

  // Each step its own transaction; `next` sizes the step after one that deleted `deleted` rows in `ms`.
  const deleteInSteps = async (
    id: string,
    name: string,
    first: number,
    next: (limit: number, r: { deleted: number; ms: number }) => number,
  ) => {
    const started = performance.now();
    const steps: number[] = [];
    let s = performance.now();
    await db.transaction((tx) => deleteAgent(tx, db.dialect, id, false, Date.now()));
    steps.push(performance.now() - s);
    let rows = 0;
    let limit = first;
    for (let done = false; !done;) {
      s = performance.now();
      const r = await db.transaction((tx) => purgeAgentHistory(tx, id, limit));
      steps.push(performance.now() - s);
      rows += r.deleted;
      done = r.done;
      limit = next(limit, r);
    }
    const total = performance.now() - started;
    const sorted = [...steps].sort((x, y) => x - y);
    log(
      `${name}: ${rows} rows in ${steps.length} transactions, ${total.toFixed(0)} ms in all; ` +
        `longest transaction ${(sorted.at(-1) ?? 0).toFixed(1)} ms, median ${(sorted[Math.floor(sorted.length / 2)] ?? 0).toFixed(1)} ms`,
    );
  };
  await deleteInSteps('b', 'fixed steps of 5,000 rows (before)', STEP_ROWS, (limit) => limit);
  await deleteInSteps('c', `steps sized towards ${STEP_TARGET_MS} ms (now)`, PURGE_START_ROWS, (limit, r) =>
    resizePurge(limit, r, STEP_TARGET_MS, PURGE_BATCH_ROWS),
  );
  await db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
