/**
 * `node packages/hub/dist/bench/answers.js` (after `npx tsc -b`): what declaring response schemas costs
 * a request, on the heartbeat's small answer and on a page of 100 listed agents.
 *
 * Three Fastify apps answer the same objects through `inject()` (no sockets, so the answer's
 * serialization is a visible share): the baseline without a response schema (Fastify's own
 * JSON.stringify, as the routes were), the hub's choice (the schema declared, written by
 * JSON.stringify: api/responses.ts), and Fastify's default for a declared schema (fast-json-stringify).
 * Rounds alternate the apps; the median of BENCH_ROUNDS rounds of BENCH_REQUESTS requests each.
 *
 * Environment: BENCH_REQUESTS (1000), BENCH_ROUNDS (7).
 */
import { performance } from 'node:perf_hooks';
import Fastify, { type FastifyInstance } from 'fastify';
import type { TSchema } from 'typebox';
import { AgentsPage, HeartbeatAnswer, type ListedAgent } from '@vigil/protocol';
import { REFUSALS, serializerCompiler } from '../src/api/responses.js';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const log = (line: string) => process.stdout.write(`${line}\n`);

const now = Date.now();
const heartbeat = { status: 'online', duplicate: false, received_at: now };
const agent = (i: number): ListedAgent => ({
  agent_id: `agent-${String(i).padStart(4, '0')}`,
  name: `Agent ${i}`,
  agent_type: 'research',
  pool_name: 'lab',
  capabilities: ['train', 'eval'],
  status: 'online',
  offline_reason: null,
  last_heartbeat_at: now,
  performance_score: 1,
  resource_metrics: {
    cpu_percent: 41.5,
    cpu_cores_physical: 16,
    cpu_cores_available: 9.3,
    cpu_load_1min: 4.2,
    cpu_load_5min: 3.9,
    memory_percent: 61.2,
    memory_available_gb: 48.1,
    gpu_vram_total_gb: 80,
    gpu_vram_available_gb: 61.5,
    gpu_type: 'nvidia',
    gpus: [
      { index: 0, uuid: `GPU-${i}`, name: 'A100', vram_total_gb: 80, vram_used_gb: 18.5, vram_free_gb: 61.5, utilization_percent: 37 },
    ],
  },
  resource_updated_at: { cpu_percent: now, memory_percent: now, gpus: now },
  metadata: { owner: 'ml', region: 'eu-west' },
  heartbeat_interval_s: 15,
  registered_at: now - 86_400_000,
  updated_at: now,
  cpu_percent: 12.5,
  memory_mb: 812,
  message_count: 1200,
  paused: false,
  last_llm_activity_at: null,
  last_telemetry_at: null,
  llm_state: null,
  telemetry_silent: null,
});
const page = { agents: Array.from({ length: 100 }, (_, i) => agent(i)), next_cursor: 'agent-0099', bytes_limited: false };

type Variant = 'no schema (baseline)' | 'no schema (baseline again)' | 'schema + JSON.stringify (hub)' | 'schema + fast-json-stringify';
// The baseline twice: how far two identical apps differ is the noise floor of the run.
const VARIANTS: Variant[] = [
  'no schema (baseline)',
  'no schema (baseline again)',
  'schema + JSON.stringify (hub)',
  'schema + fast-json-stringify',
];

async function appFor(variant: Variant, schema: TSchema, body: unknown): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  if (variant === 'schema + JSON.stringify (hub)') app.setSerializerCompiler(serializerCompiler);
  const response = variant.startsWith('no schema') ? undefined : { 200: schema, ...REFUSALS };
  app.get('/', { schema: response ? { response } : {} }, async () => body);
  await app.ready();
  return app;
}

async function timeRequests(app: FastifyInstance, requests: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < requests; i++) {
    const res = await app.inject({ method: 'GET', url: '/' });
    if (res.statusCode !== 200) throw new Error(`answered ${res.statusCode}`);
  }
  return ((performance.now() - start) * 1000) / requests;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

log(`Node ${process.version}; ${REQUESTS} inject() requests per round (a tenth for the page), median of ${ROUNDS} rounds (µs per request)`);
// A tenth of the requests for the big page: inject() keeps about an answer's size per request until
// the process ends (seen without any schema too), and thousands of 100 kB answers exhaust the heap.
for (const [name, schema, body, requests] of [
  ['heartbeat answer', HeartbeatAnswer, heartbeat, REQUESTS],
  ['100 listed agents', AgentsPage, page, Math.ceil(REQUESTS / 10)],
] as const) {
  const texts: string[] = [];
  const times: number[][] = VARIANTS.map(() => []);
  for (let r = 0; r < ROUNDS; r++) {
    // Rotate the order each round, so drift in the machine's load falls on every variant alike. A fresh
    // app each time: an app that has answered thousands of inject() calls holds on to their memory.
    for (let k = 0; k < VARIANTS.length; k++) {
      const v = (k + r) % VARIANTS.length;
      const app = await appFor(VARIANTS[v] as Variant, schema, body);
      texts[v] ??= (await app.inject({ method: 'GET', url: '/' })).body;
      times[v]?.push(await timeRequests(app, requests));
      await app.close();
    }
  }
  const base = median(times[0] as number[]);
  log(`\n${name} (${Buffer.byteLength(texts[0] as string)} bytes)`);
  VARIANTS.forEach((v, i) => {
    const m = median(times[i] as number[]);
    const same = texts[i] === texts[0] ? 'same bytes' : `differs: ${Buffer.byteLength(texts[i] as string)} bytes`;
    log(`  ${v.padEnd(32)} ${m.toFixed(1).padStart(7)} µs  ×${(m / base).toFixed(2)}  ${same}`);
  });
}
