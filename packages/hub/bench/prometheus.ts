/**
 * `npm run bench:prometheus`: what one `/metrics` scrape costs on a large fleet (SQLite, FULL).
 *
 * BENCH_AGENTS agents in 20 pools, a tenth of them with an unresolved error, and BENCH_TRACES LLM
 * calls over 10 models, straight into the hub's own schema. Times the first scrape (it reads every
 * stored call once), a later scrape (only calls stored since), and the same with per-agent series
 * off, and prints the output's size; and the per-agent statement alone, to tell the store's share. Baseline, in the same run: the usage API's aggregate
 * (`llmUsage` by model over the same calls), which reads them all on every request.
 *
 * Environment: BENCH_AGENTS (10000), BENCH_TRACES (200000).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { HubMetrics } from '../src/metrics/hub-metrics.js';
import { agentFigures } from '../src/store/fleet-metrics.js';
import { llmUsage } from '../src/store/llm-usage.js';
import { openStore } from '../src/store/open.js';

const AGENTS = Number(process.env.BENCH_AGENTS ?? 10_000);
const TRACES = Number(process.env.BENCH_TRACES ?? 200_000);
const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-prometheus-'));
const log = (line: string) => process.stdout.write(`${line}\n`);

try {
  const now = Date.now();
  const { db } = await openStore(join(dir, 'vigil.db'), { sqliteSynchronous: 'full', now });
  await db.transaction(async (tx) => {
    for (let i = 0; i < AGENTS; i++) {
      await tx.run(
        `INSERT INTO agents (agent_id, name, agent_type, pool_name, status, registered_at, updated_at, cpu_percent, memory_mb)
         VALUES (?, ?, 'bench', ?, ?, ?, ?, 12.5, 512)`,
        [`a-${i}`, `a-${i}`, `pool-${i % 20}`, i % 3 === 0 ? 'busy' : 'idle', now, now],
      );
      if (i % 10 === 0) {
        await tx.run(
          `INSERT INTO error_logs (agent_id, error_type, message, fingerprint, timestamp, first_seen_at, last_seen_at)
           VALUES (?, 'E', 'm', ?, ?, ?, ?)`,
          [`a-${i}`, `f-${i}`, now, now, now],
        );
      }
    }
    for (let i = 0; i < TRACES; i++) {
      const at = now - (TRACES - i) * 10;
      await tx.run(
        `INSERT INTO llm_traces (agent_id, model, input_tokens, output_tokens, cost_usd, latency_ms, status, timestamp, received_at)
         VALUES (?, ?, 1000, 200, 0.01, 900, 'ok', ?, ?)`,
        [`a-${i % AGENTS}`, `model-${i % 10}`, at, at],
      );
    }
  });
  log(`fleet: ${AGENTS} agents in 20 pools, ${TRACES} LLM calls over 10 models`);

  const time = async (what: string, run: () => Promise<unknown>) => {
    const t = performance.now();
    const r = await run();
    log(`${what}: ${(performance.now() - t).toFixed(0)} ms`);
    return r;
  };
  await time('baseline, llmUsage by model over the same calls', () => llmUsage(db, 'model', now - 31 * 86_400_000, now + 1));
  await time('the per-agent statement alone (agentFigures)', () => agentFigures(db));
  for (const perAgent of [true, false]) {
    let clock = now;
    const metrics = new HubMetrics({
      db,
      perAgent,
      now: () => (clock += 10_000),
      sources: { queueDepth: () => 0, queueCapacity: () => 1, liveSockets: () => 0, liveDropped: () => 0 },
    });
    const first = (await time(`per-agent ${perAgent}: first scrape`, () => metrics.render())) as { text: string };
    const later = (await time(`per-agent ${perAgent}: later scrape`, () => metrics.render())) as { text: string };
    const series = later.text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;
    log(`per-agent ${perAgent}: ${series} series, ${(Buffer.byteLength(first.text) / 1024).toFixed(0)} KiB`);
  }
  await db.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
