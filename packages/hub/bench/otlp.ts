/**
 * `npm run bench:otlp`: OTLP ingest beside the hub's own batch ingest, in the same run, on one
 * SQLite hub (synchronous FULL), and the LLM usage aggregate over a month of a fleet's calls.
 *
 *  - LLM calls per second through `POST /api/v1/ingest` (traces), `POST /v1/traces` (GenAI spans,
 *    JSON and protobuf) and `POST /v1/logs` (Claude Code `api_request` events, protobuf), each
 *    request carrying BENCH_BATCH records, BENCH_CONNECTIONS requests in flight;
 *  - `GET /api/v1/llm/usage` grouped by agent, model and pool over 30 days of BENCH_AGENTS agents
 *    making BENCH_CALLS_PER_DAY calls a day (rows written straight into the store first).
 *
 * The load generator runs in this process beside the hub, so the rates are for comparison within
 * one run, not capacity figures. Environment: BENCH_SECONDS (per run, default 5), BENCH_BATCH (100),
 * BENCH_CONNECTIONS (4), BENCH_AGENTS (1000), BENCH_CALLS_PER_DAY (20).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { loadConfig } from '../src/config/config.js';
import { createLogger, startHub } from '../src/main.js';
import { ExportLogsServiceRequest, ExportTraceServiceRequest } from '../src/otlp/schema.js';
import { envInt } from './env.js';

const SECONDS = envInt('BENCH_SECONDS', 5);
const BATCH = envInt('BENCH_BATCH', 100);
const CONNECTIONS = envInt('BENCH_CONNECTIONS', 4);
const AGENTS = envInt('BENCH_AGENTS', 1000);
const CALLS_PER_DAY = envInt('BENCH_CALLS_PER_DAY', 20);
const TOKEN = 'bench-admin-token-0123456789abcdef';
const DAY_MS = 86_400_000;

let seq = 0;
const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
const int = (key: string, value: number) => ({ key, value: { intValue: value } });
const hex = (n: number, bytes: number) => n.toString(16).padStart(bytes * 2, '0');

function spans(agent: string) {
  const now = BigInt(Date.now()) * 1_000_000n;
  return {
    resourceSpans: [
      {
        resource: { attributes: [str('service.name', 'bench'), str('service.instance.id', agent)] },
        scopeSpans: [
          {
            spans: Array.from({ length: BATCH }, () => {
              const n = ++seq;
              return {
                traceId: hex(n, 16),
                spanId: hex(n, 8),
                name: 'chat',
                startTimeUnixNano: String(now),
                endTimeUnixNano: String(now + 5_000_000n),
                attributes: [
                  str('gen_ai.provider.name', 'openai'),
                  str('gen_ai.request.model', 'gpt-4o'),
                  int('gen_ai.usage.input_tokens', 100),
                ],
              };
            }),
          },
        ],
      },
    ],
  };
}

function claudeLogs(agent: string) {
  const now = BigInt(Date.now()) * 1_000_000n;
  return {
    resourceLogs: [
      {
        resource: { attributes: [str('service.name', 'claude-code'), str('vigil.agent_id', agent)] },
        scopeLogs: [
          {
            logRecords: Array.from({ length: BATCH }, () => ({
              timeUnixNano: String(now + BigInt(++seq)),
              body: { stringValue: 'claude_code.api_request' },
              attributes: [
                str('event.name', 'api_request'),
                str('model', 'claude-sonnet-4-5'),
                int('input_tokens', 10),
                int('output_tokens', 5),
              ],
            })),
          },
        ],
      },
    ],
  };
}

function ingestBatch(agent: string) {
  return { traces: Array.from({ length: BATCH }, () => ({ agent_id: agent, model: 'gpt-4o', input_tokens: 100, event_id: `b-${++seq}` })) };
}

type Body = { path: string; type: string; body: () => string | Buffer };

async function measure(url: string, make: (agent: string) => Body): Promise<number> {
  let records = 0;
  let failures = 0;
  const until = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, c) => {
      while (performance.now() < until) {
        const b = make(`bench-${c}`);
        const res = await request(`${url}${b.path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': b.type },
          body: b.body(),
        });
        await res.body.dump();
        if (res.statusCode < 300) records += BATCH;
        else failures++;
      }
    }),
  );
  if (failures > 0) throw new Error(`${failures} requests failed`);
  return records / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-otlp-'));
  const config = loadConfig(
    [
      '--port',
      '0',
      '--data-dir',
      dir,
      '--admin-token',
      TOKEN,
      '--otlp-grpc-port',
      '0',
      '--host-metrics-interval',
      '0',
      '--body-limit',
      String(8 * 1024 * 1024),
    ],
    {},
  );
  const hub = await startHub(config, { logger: createLogger('silent') });
  try {
    for (let c = 0; c < CONNECTIONS; c++) {
      await request(`${hub.url}/api/v1/agents`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ agent_id: `bench-${c}`, name: `bench-${c}`, agent_type: 'bench' }),
      }).then((r) => r.body.dump());
    }
    const runs: [string, (agent: string) => Body][] = [
      [
        'POST /api/v1/ingest (traces, JSON)',
        (a) => ({ path: '/api/v1/ingest', type: 'application/json', body: () => JSON.stringify(ingestBatch(a)) }),
      ],
      [
        'POST /v1/traces (GenAI spans, JSON)',
        (a) => ({ path: '/v1/traces', type: 'application/json', body: () => JSON.stringify(spans(a)) }),
      ],
      [
        'POST /v1/traces (GenAI spans, protobuf)',
        (a) => ({
          path: '/v1/traces',
          type: 'application/x-protobuf',
          body: () => Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(spans(a))).finish()),
        }),
      ],
      [
        'POST /v1/logs (Claude Code api_request, protobuf)',
        (a) => ({
          path: '/v1/logs',
          type: 'application/x-protobuf',
          body: () => Buffer.from(ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject(claudeLogs(a))).finish()),
        }),
      ],
    ];
    console.log(`| Run (${BATCH} records a request, ${CONNECTIONS} in flight, ${SECONDS} s) | LLM calls stored/s | vs /api/v1/ingest |`);
    console.log('| --- | ---: | ---: |');
    let baseline = 0;
    for (const [name, make] of runs) {
      const rate = await measure(hub.url, make);
      baseline ||= rate;
      console.log(`| ${name} | ${Math.round(rate).toLocaleString('en-US')} | ${(rate / baseline).toFixed(2)}× |`);
    }

    // A month of a fleet's calls, written straight into the store in large transactions.
    const now = Date.now();
    const total = AGENTS * CALLS_PER_DAY * 30;
    const fill = performance.now();
    await hub.db.transaction(async (tx) => {
      for (let a = 0; a < AGENTS; a++) {
        await tx.run(
          `INSERT INTO agents (agent_id, name, agent_type, pool_name, status, heartbeat_interval_s, registered_at, updated_at)
           VALUES (?, ?, 'bench', ?, 'online', 15, ?, ?) ON CONFLICT (agent_id) DO NOTHING`,
          [`fleet-${a}`, `fleet-${a}`, `pool-${a % 10}`, now, now],
        );
      }
    });
    const perTx = 20_000;
    for (let start = 0; start < total; start += perTx) {
      await hub.db.transaction(async (tx) => {
        for (let i = start; i < Math.min(total, start + perTx); i++) {
          const at = now - Math.floor((i / total) * 30 * DAY_MS);
          await tx.run(
            `INSERT INTO llm_traces (agent_id, event_id, model, input_tokens, output_tokens, cost_usd, latency_ms, status, attributes, timestamp, received_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}', ?, ?)`,
            [`fleet-${i % AGENTS}`, `m-${i}`, `model-${i % 7}`, 100, 20, 0.001, (i * 37) % 5000, i % 50 === 0 ? 'error' : 'ok', at, at],
          );
        }
      });
    }
    const fillS = (performance.now() - fill) / 1000;
    console.log(
      `\nUsage aggregate over 30 days: ${total.toLocaleString('en-US')} calls of ${AGENTS} agents (written in ${fillS.toFixed(1)} s)\n`,
    );
    console.log('| group_by | groups | median of 3 (ms) |');
    console.log('| --- | ---: | ---: |');
    for (const group of ['agent', 'model', 'pool']) {
      const times: number[] = [];
      let groups = 0;
      for (let r = 0; r < 3; r++) {
        const t = performance.now();
        const res = await request(`${hub.url}/api/v1/llm/usage?group_by=${group}&from=${now - 30 * DAY_MS}&to=${now + 1}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        const body = (await res.body.json()) as { groups: unknown[] };
        times.push(performance.now() - t);
        groups = body.groups.length;
      }
      times.sort((x, y) => x - y);
      console.log(`| ${group} | ${groups} | ${Math.round(times[1] as number)} |`);
    }
  } finally {
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
