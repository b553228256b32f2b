/**
 * `npm run bench:spend`: what the alert engine's spend statement (`spendByAgent`, one per window
 * length per timer run) costs over a busy fleet's LLM calls on SQLite, against the usage aggregate
 * (`llmUsage` by agent) over the same range as the baseline.
 *
 * BENCH_CALLS calls of 1000 agents (10 pools), spread evenly over the last two hours, straight into
 * the hub's own schema; each statement is timed three times for windows of 10 minutes and 1 hour.
 *
 * Environment: BENCH_CALLS (300000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { spendByAgent } from '../src/store/llm-spend.js';
import { llmUsage } from '../src/store/llm-usage.js';
import { openStore } from '../src/store/open.js';

const CALLS = Number(process.env.BENCH_CALLS ?? 300_000);
const AGENTS = 1000;
const SPAN_MS = 2 * 3_600_000;
const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-spend-'));
const log = (line: string) => process.stdout.write(`${line}\n`);

async function median(f: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const start = performance.now();
    await f();
    times.push(performance.now() - start);
  }
  return Math.round(times.sort((a, b) => a - b)[1] as number);
}

try {
  const now = Date.now();
  const { db } = await openStore(join(dir, 'vigil.db'), { sqliteSynchronous: 'full', now });
  await db.transaction(async (tx) => {
    for (let a = 0; a < AGENTS; a++) {
      await tx.run(
        `INSERT INTO agents (agent_id, name, agent_type, pool_name, status, registered_at, updated_at) VALUES (?, ?, 'bench', ?, 'online', ?, ?)`,
        [`a-${a}`, `a-${a}`, `pool-${a % 10}`, now, now],
      );
    }
  });
  const written = performance.now();
  for (let batch = 0; batch * 5000 < CALLS; batch++) {
    await db.transaction(async (tx) => {
      for (let n = batch * 5000; n < Math.min(CALLS, (batch + 1) * 5000); n++) {
        const at = now - Math.floor((n / CALLS) * SPAN_MS);
        await tx.run(
          `INSERT INTO llm_traces (agent_id, event_id, model, input_tokens, output_tokens, cost_usd, attributes, timestamp, received_at)
           VALUES (?, ?, 'bench-model', 1000, 200, 0.01, '{}', ?, ?)`,
          [`a-${n % AGENTS}`, `e-${n}`, at, at],
        );
      }
    });
  }
  log(`${CALLS} calls of ${AGENTS} agents over 2 h (written in ${((performance.now() - written) / 1000).toFixed(1)} s)`);
  log('');
  log('| window | calls in it | spendByAgent, median of 3 (ms) | llmUsage by agent (baseline, ms) |');
  log('| -----: | ----------: | -----------------------------: | -------------------------------: |');
  for (const seconds of [600, 3600]) {
    const from = now - seconds * 1000;
    const inWindow = Math.round((CALLS * seconds * 1000) / SPAN_MS);
    const spend = await median(() => spendByAgent(db, from, now));
    const usage = await median(() => llmUsage(db, 'agent', from, now + 1));
    log(`| ${seconds} s | ${inWindow} | ${spend} | ${usage} |`);
  }
  await db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
