/**
 * `npm run bench:retire`: what deleting an agent with a long history costs on SQLite (FULL), and
 * how long it holds the single writer, against the same history deleted in one transaction.
 *
 * Two agents get identical histories of BENCH_ROWS heartbeats (and a tenth as many events), straight
 * into the hub's own schema. Agent A is deleted the naive way (one transaction, one DELETE per
 * table: the baseline); agent B the way the hub does it (`deleteAgent`, then `purgeAgentHistory`
 * steps of 5,000 rows, each its own transaction). Reports the total time and the longest single
 * transaction of each, which is how long ingest would wait behind it.
 *
 * Environment: BENCH_ROWS (100000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openStore } from '../src/store/open.js';
import { deleteAgent, purgeAgentHistory } from '../src/store/retire.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 100_000);
const STEP_ROWS = 5_000;
const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-retire-'));
const log = (line: string) => process.stdout.write(`${line}\n`);

try {
  const now = Date.now();
  const { db } = await openStore(join(dir, 'vigil.db'), { sqliteSynchronous: 'full', now });
  for (const id of ['a', 'b']) {
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

  let t = performance.now();
  await db.transaction(async (tx) => {
    await tx.run("DELETE FROM agent_metrics WHERE agent_key = (SELECT agent_key FROM agent_keys WHERE agent_id = 'a')");
    await tx.run('DELETE FROM agent_events WHERE agent_id = ?', ['a']);
  });
  const oneTx = performance.now() - t;
  log(`baseline, one transaction: ${oneTx.toFixed(0)} ms (the writer is held all that time)`);

  t = performance.now();
  const steps: number[] = [];
  let s = performance.now();
  await db.transaction((tx) => deleteAgent(tx, db.dialect, 'b', false, Date.now()));
  steps.push(performance.now() - s);
  let rows = 0;
  for (let done = false; !done;) {
    s = performance.now();
    const r = await db.transaction((tx) => purgeAgentHistory(tx, 'b', STEP_ROWS));
    steps.push(performance.now() - s);
    rows += r.deleted;
    done = r.done;
  }
  const total = performance.now() - t;
  const sorted = [...steps].sort((x, y) => x - y);
  log(
    `hub's way: ${rows} rows in ${steps.length} transactions, ${total.toFixed(0)} ms in all; ` +
      `longest transaction ${(sorted.at(-1) ?? 0).toFixed(0)} ms, median ${(sorted[Math.floor(sorted.length / 2)] ?? 0).toFixed(0)} ms`,
  );
  await db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
