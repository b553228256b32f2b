import assert from 'node:assert/strict';
import diagnostics from 'node:diagnostics_channel';
import { after, before, describe, test } from 'node:test';
import { join } from 'node:path';
import { request } from 'undici';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { OTLPTraceExporter as ProtoTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { LoggerProvider, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import { AggregationTemporality, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ExportLogsServiceRequest, ExportMetricsServiceRequest } from '../src/otlp/schema.js';
import type { ManualClock } from '../src/clock.js';
import { SYSTEM_METRICS_COLUMNS, type SystemMetricsRow } from '../src/store/system-metrics.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

/**
 * The official OpenTelemetry JS exporters against a real hub, recorded Claude Code payloads written
 * from its documented metric and event names, the usage aggregate, busy/idle, 429 under a full
 * queue, and fuzzed bodies (docs/otlp.md).
 */

const NS = 1_000_000n;
const auth = { Authorization: `Bearer ${ADMIN_TOKEN}` };

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
const int = (key: string, value: number | string) => ({ key, value: { intValue: value } });
const dbl = (key: string, value: number) => ({ key, value: { doubleValue: value } });

/** A Claude Code session as its log exporter sends it: a prompt, two API calls, an API error, a tool result. */
function claudeSession(agentId: string, t0: bigint) {
  const common = [str('session.id', 'sess-1'), str('user.id', 'install-1'), str('organization.id', 'org-1'), str('app.version', '2.0.14')];
  const event = (offsetMs: number, name: string, attrs: unknown[]) => ({
    timeUnixNano: String(t0 + BigInt(offsetMs) * NS),
    body: { stringValue: `claude_code.${name}` },
    attributes: [str('event.name', name), ...common, ...attrs],
  });
  return {
    resourceLogs: [
      {
        resource: {
          attributes: [
            str('service.name', 'claude-code'),
            str('service.version', '2.0.14'),
            str('os.type', 'linux'),
            str('vigil.agent_id', agentId),
          ],
        },
        scopeLogs: [
          {
            scope: { name: 'com.anthropic.claude_code.events', version: '2.0.14' },
            logRecords: [
              event(0, 'user_prompt', [int('prompt_length', 42)]),
              event(10, 'api_request', [
                str('model', 'claude-sonnet-4-5'),
                dbl('cost_usd', 0.021457),
                int('duration_ms', 3100),
                int('input_tokens', 12),
                int('output_tokens', 480),
                int('cache_read_tokens', 18000),
                int('cache_creation_tokens', 2200),
              ]),
              event(20, 'api_error', [
                str('model', 'claude-sonnet-4-5'),
                str('error', 'Overloaded'),
                str('status_code', '529'),
                int('duration_ms', 800),
                int('attempt', 1),
              ]),
              event(30, 'api_request', [
                str('model', 'claude-haiku-4-5'),
                // Numbers may arrive as strings: the documented types are not what every version sends.
                { key: 'cost_usd', value: { stringValue: '0.000333' } },
                int('duration_ms', 400),
                int('input_tokens', '100'),
                int('output_tokens', 20),
                int('cache_read_tokens', 0),
                int('cache_creation_tokens', 0),
              ]),
              event(40, 'tool_result', [str('tool_name', 'Bash'), { key: 'success', value: { boolValue: false } }, int('duration_ms', 12)]),
              event(50, 'brand_new_event', [str('whatever', 'kept')]),
            ],
          },
        ],
      },
    ],
  };
}

/** Claude Code's token and cost counters (the documented `claude_code.*` metrics), in one temporality. */
function claudeMetrics(agentId: string, start: bigint, at: bigint, temporality: 1 | 2, cost: number, input: number) {
  const point = (value: number, attrs: unknown[], asInt: boolean) => ({
    attributes: [str('session.id', 'sess-1'), str('model', 'claude-sonnet-4-5'), ...attrs],
    startTimeUnixNano: String(start),
    timeUnixNano: String(at),
    ...(asInt ? { asInt: String(value) } : { asDouble: value }),
  });
  return {
    resourceMetrics: [
      {
        resource: { attributes: [str('service.name', 'claude-code'), str('vigil.agent_id', agentId)] },
        scopeMetrics: [
          {
            scope: { name: 'com.anthropic.claude_code' },
            metrics: [
              {
                name: 'claude_code.cost.usage',
                unit: 'USD',
                sum: { aggregationTemporality: temporality, isMonotonic: true, dataPoints: [point(cost, [], false)] },
              },
              {
                name: 'claude_code.token.usage',
                unit: 'tokens',
                sum: { aggregationTemporality: temporality, isMonotonic: true, dataPoints: [point(input, [str('type', 'input')], true)] },
              },
            ],
          },
        ],
      },
    ],
  };
}

async function postJson(hub: TestHub, path: string, body: unknown, type = 'application/json') {
  const payload =
    type === 'application/json'
      ? JSON.stringify(body)
      : Buffer.from(
          (path.endsWith('logs') ? ExportLogsServiceRequest : ExportMetricsServiceRequest)
            .encode((path.endsWith('logs') ? ExportLogsServiceRequest : ExportMetricsServiceRequest).fromObject(body as object))
            .finish(),
        );
  const res = await request(`${hub.url}${path}`, { method: 'POST', headers: { ...auth, 'content-type': type }, body: payload });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, text: bytes.toString('utf8') };
}

for (const dialect of DIALECTS) {
  describe(`OTLP end to end on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    let hub: TestHub;
    before(async () => {
      if (!skip) hub = await startTestHub(dialect);
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    test('the official proto and JSON trace exporters: GenAI spans appear through the API', { skip }, async () => {
      for (const [kind, Exporter] of [
        ['proto', ProtoTraceExporter],
        ['json', JsonTraceExporter],
      ] as const) {
        const agentId = `sdk-traces-${kind}`;
        const provider = new TracerProvider({
          resource: resourceFromAttributes({ 'service.name': 'sdk-test', 'service.instance.id': agentId }),
          spanProcessors: [
            new SimpleSpanProcessor({
              exporter: new Exporter({ url: `${hub.url}/v1/traces`, headers: auth, compression: 'gzip' as never }),
            }),
          ],
        });
        const span = provider.getTracer('test').startSpan('chat claude');
        span.setAttributes({
          'gen_ai.operation.name': 'chat',
          'gen_ai.provider.name': 'anthropic',
          'gen_ai.request.model': 'claude-opus-4',
          'gen_ai.usage.input_tokens': 321,
          'gen_ai.usage.output_tokens': 0,
          'gen_ai.usage.cache_read.input_tokens': 1000,
        });
        span.end();
        await provider.forceFlush();
        await provider.shutdown();
        const traces = (await hub.call('GET', `/api/v1/traces?agent_id=${agentId}`)).body.traces;
        assert.equal(traces.length, 1, `${kind}: one call stored`);
        assert.equal(traces[0].model, 'claude-opus-4');
        assert.equal(traces[0].input_tokens, 321);
        assert.equal(traces[0].output_tokens, 0);
        assert.equal(traces[0].cache_read_tokens, 1000);
        assert.equal(traces[0].operation, 'chat');
        assert.match(traces[0].span_id, /^[0-9a-f]{16}$/);
        const agent = (await hub.call('GET', `/api/v1/agents/${agentId}`)).body.agent;
        assert.equal(agent.agent_type, 'otel', 'first sight registered the agent');
        assert.equal(agent.llm_state, 'busy');
      }
    });

    test('the official log and metric exporters: events and counters arrive, counters never add to call totals', { skip }, async () => {
      const agentId = 'sdk-logs-metrics';
      const resource = resourceFromAttributes({ 'service.name': 'sdk-test', 'service.instance.id': agentId });
      const logs = new LoggerProvider({
        resource,
        processors: [new SimpleLogRecordProcessor({ exporter: new OTLPLogExporter({ url: `${hub.url}/v1/logs`, headers: auth }) })],
      });
      logs.getLogger('test').emit({ body: 'something happened', severityNumber: 17, attributes: { detail: 'x', zero: 0, no: false } });
      await logs.forceFlush();
      await logs.shutdown();
      const events = (await hub.call('GET', `/api/v1/events?agent_id=${agentId}`)).body.events ?? [];
      const logged = events.find((e: any) => e.message === 'something happened');
      assert.ok(logged, 'the log record is an event');
      assert.equal(logged.event_type, 'error');
      assert.equal(logged.metadata.zero, 0);
      assert.equal(logged.metadata.no, false);

      const reader = new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({
          url: `${hub.url}/v1/metrics`,
          headers: auth,
          temporalityPreference: AggregationTemporality.CUMULATIVE,
        }),
        exportIntervalMillis: 3_600_000,
      });
      const meters = new MeterProvider({ resource, readers: [reader] });
      const counter = meters.getMeter('test').createCounter('claude_code.token.usage');
      counter.add(100, { type: 'input' });
      await meters.forceFlush();
      counter.add(50, { type: 'input' });
      await meters.forceFlush();
      await meters.shutdown();
      const rows = await hub.db.all<{ value: number; increase: number }>(
        `SELECT p.value, p.increase FROM otlp_points p JOIN otlp_series s ON s.id = p.series_id
         WHERE s.agent_id = ? AND s.name = 'claude_code.token.usage' ORDER BY p.time_ns`,
        [agentId],
      );
      assert.ok(rows.length >= 2, `points stored (${rows.length})`);
      assert.equal(
        rows.reduce((sum, r) => sum + Number(r.increase), 0),
        150,
        'cumulative points become increases that add up',
      );
      assert.equal((await hub.call('GET', `/api/v1/traces?agent_id=${agentId}`)).body.traces.length, 0, 'counters are not calls');
    });

    for (const format of ['application/json', 'application/x-protobuf']) {
      test(`a recorded Claude Code session (${format}): tokens and cost per agent match to the micro-dollar`, { skip }, async () => {
        const agentId = `claude-${format.endsWith('json') ? 'json' : 'pb'}`;
        const t0 = BigInt(hub.clock.now()) * NS;
        const session = claudeSession(agentId, t0);
        assert.equal((await postJson(hub, '/v1/logs', session, format)).status, 200);
        // The exporter retries after a lost answer: the same export again changes nothing.
        assert.equal((await postJson(hub, '/v1/logs', session, format)).status, 200);
        // Delta-temporality counters, twice: kept as their own series, never added to the call totals.
        const start = t0 - 60_000n * NS;
        assert.equal((await postJson(hub, '/v1/metrics', claudeMetrics(agentId, start, t0, 1, 0.02, 12), format)).status, 200);
        assert.equal((await postJson(hub, '/v1/metrics', claudeMetrics(agentId, t0, t0 + 60_000n * NS, 1, 0.5, 100), format)).status, 200);

        const usage = await hub.call(
          'GET',
          `/api/v1/llm/usage?group_by=agent&from=${Number(t0 / NS) - 1000}&to=${Number(t0 / NS) + 60_000}`,
        );
        assert.equal(usage.status, 200, JSON.stringify(usage.body));
        const row = usage.body.groups.find((g: any) => g.key === agentId);
        assert.equal(row.calls, 3, 'two requests and one failed call');
        assert.equal(row.errors, 1);
        assert.equal(row.input_tokens, 112);
        assert.equal(row.output_tokens, 500);
        assert.equal(row.cache_read_tokens, 18000);
        assert.equal(row.cache_creation_tokens, 2200);
        assert.equal(row.cost_usd, 0.02179);
        assert.equal(row.p50_latency_ms, 800);
        assert.equal(row.p95_latency_ms, 3100);

        const overloaded = (await hub.call('GET', `/api/v1/errors?agent_id=${agentId}`)).body.errors as any[];
        assert.equal(overloaded.length, 1, 'the API error is one error group');
        assert.equal(overloaded[0].error_type, 'claude_code.api_error');

        const events = (await hub.call('GET', `/api/v1/events?agent_id=${agentId}`)).body.events as any[];
        const names = events.map((e) => e.message).filter((m) => String(m).startsWith('claude_code.'));
        assert.deepEqual(names.sort(), ['claude_code.brand_new_event', 'claude_code.tool_result', 'claude_code.user_prompt']);
        const tool = events.find((e) => e.message === 'claude_code.tool_result');
        assert.equal(tool.metadata.success, false);

        const points = await hub.db.all<{ name: string; increase: number }>(
          `SELECT s.name, p.increase FROM otlp_points p JOIN otlp_series s ON s.id = p.series_id WHERE s.agent_id = ? ORDER BY s.name, p.time_ns`,
          [agentId],
        );
        const cost = points.filter((p) => p.name === 'claude_code.cost.usage').reduce((s, p) => s + Number(p.increase), 0);
        assert.equal(Math.round(cost * 1e6), 520_000, 'delta points are increases as they come');

        const agent = (await hub.call('GET', `/api/v1/agents/${agentId}`)).body.agent;
        assert.equal(agent.agent_type, 'claude-code');
        assert.equal(agent.llm_totals.calls, 3);
        assert.equal(agent.llm_totals.input_tokens, 112);
        assert.equal(agent.llm_totals.cost_usd, 0.02179, 'per-agent totals on the agent record, to the micro-dollar');
        assert.equal(agent.llm_state, 'busy');
        (hub.clock as ManualClock).advance(10 * 60_000);
        assert.equal((await hub.call('GET', `/api/v1/agents/${agentId}`)).body.agent.llm_state, 'idle');
      });
    }

    test('fuzzed bodies: never a 5xx, and a refused body stores nothing', { skip }, async () => {
      // Counted per agent that exists now: a mutated byte can land in the session's user id and so
      // name a new agent (a valid export of another installation), which is not a refused body.
      const existing = (await hub.db.all<{ agent_id: string }>('SELECT agent_id FROM agents WHERE agent_id <> ?', ['fuzz-agent'])).map(
        (a) => a.agent_id,
      );
      const countOld = async () =>
        (
          await hub.db.get<{ n: number }>(
            `SELECT COUNT(*) AS n FROM llm_traces WHERE agent_id IN (${existing.map(() => '?').join(', ') || "''"})`,
            existing,
          )
        )?.n;
      const before = await countOld();
      const valid = Buffer.from(
        ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject(claudeSession('fuzz-agent', 1n))).finish(),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ maxLength: 512 }),
            fc.tuple(fc.nat({ max: valid.length - 1 }), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([at, junk]) => {
              const copy = Buffer.from(valid);
              copy.set(junk.slice(0, copy.length - at), at);
              return new Uint8Array(copy);
            }),
          ),
          fc.constantFrom('application/x-protobuf', 'application/json'),
          async (bytes, type) => {
            const res = await request(`${hub.url}/v1/logs`, {
              method: 'POST',
              headers: { ...auth, 'content-type': type },
              body: Buffer.from(bytes),
            });
            await res.body.dump();
            assert.ok(res.statusCode < 500, `status ${res.statusCode}`);
          },
        ),
        { numRuns: 150 },
      );
      await fc.assert(
        fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (value) => {
          const res = await request(`${hub.url}/v1/traces`, {
            method: 'POST',
            headers: { ...auth, 'content-type': 'application/json' },
            body: JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [value] }] }] }),
          });
          await res.body.dump();
          assert.ok(res.statusCode < 500, `status ${res.statusCode}`);
        }),
        { numRuns: 150 },
      );
      assert.equal(Number(await countOld()), Number(before), 'no call stored for an agent the fuzzed payload does not name');
    });
  });
}

/** Waits until `cond` holds, polling; fails with `what` after `ms`. */
async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * Fills the queue's one place and keeps it full, without depending on timing: another connection
 * holds SQLite's write lock, a first write is taken into a batch that cannot commit, and an export
 * waits behind it (depth 1) until `release()` lets both commit.
 */
async function fillQueue(hub: TestHub, t0: bigint, agentId: string) {
  const other = new Database(join(hub.dir, 'vigil.db'));
  // Waits out a step of the hub's own start-up jobs; once held, the lock is this connection's.
  other.pragma('busy_timeout = 5000');
  other.exec('BEGIN IMMEDIATE');
  const nulls = Object.fromEntries(SYSTEM_METRICS_COLUMNS.filter((c) => c !== 'host' && c !== 'received_at').map((c) => [c, null])) as Omit<
    SystemMetricsRow,
    'host' | 'received_at'
  >;
  // Submitted here rather than over HTTP, so the queue's depth is 1 at once and 0 only once the write is in a batch.
  // One write per batch the writer hands to its thread at once: each waits there for the lock.
  const fillers: Promise<unknown>[] = [];
  for (let i = 0; i < hub.writer.maxInFlight; i++) {
    fillers.push(hub.writer.submit([{ kind: 'system_metrics', row: { host: 'queue-filler', received_at: hub.clock.now(), ...nulls } }]));
    await until(() => hub.writer.queueDepth === 0, `write ${i + 1} is in a batch that waits for the lock`);
  }
  const first = Promise.all(fillers);
  const queued = postJson(hub, '/v1/logs', claudeSession(agentId, t0));
  await until(() => hub.writer.queueDepth === 1, 'the export waits behind it');
  return {
    first,
    queued,
    release: () => {
      if (!other.open) return;
      other.exec('ROLLBACK');
      other.close();
    },
  };
}

describe('OTLP under a full queue', () => {
  let hub: TestHub;
  before(async () => {
    // A long write deadline: the exports held behind the lock must not be answered 503 meanwhile.
    hub = await startTestHub('sqlite', { flags: ['--queue-capacity', '1', '--write-deadline-ms', '60000'] });
  });
  after(async () => {
    await hub.close();
  });

  test('429 with Retry-After and a google.rpc.Status UNAVAILABLE; the exports queued are still stored', async () => {
    const t0 = BigInt(hub.clock.now()) * NS;
    const full = await fillQueue(hub, t0, 'queued-1');
    try {
      const refused = await postJson(hub, '/v1/logs', claudeSession('queued-2', t0));
      assert.equal(refused.status, 429);
      assert.ok(Number(refused.headers['retry-after']) >= 1);
      assert.equal(JSON.parse(refused.text).code, 14);
      assert.equal(JSON.parse(refused.text).error.code, 'VIGIL_INGEST_QUEUE_FULL');
    } finally {
      full.release();
    }
    await full.first;
    assert.equal((await full.queued).status, 200);
    assert.equal((await hub.call('GET', '/api/v1/traces?agent_id=queued-1')).body.traces.length, 3);
    assert.equal((await hub.call('GET', '/api/v1/traces?agent_id=queued-2')).body.traces.length, 0, 'the refused export was not stored');
  });

  test('the official HTTP exporter retries a 429 after Retry-After, and nothing is lost', async () => {
    const t0 = BigInt(hub.clock.now()) * NS;
    const full = await fillQueue(hub, t0, 'blocker');
    // Node's own HTTP client reports every answer here: the exporter's 429s are counted, not guessed.
    const statuses: number[] = [];
    const onAnswer = (m: unknown) => {
      const { request: req, response } = m as { request: { path?: string }; response: { statusCode?: number } };
      if (req.path !== '/v1/traces') return;
      statuses.push(Number(response.statusCode));
      // The queue frees only once the exporter has been refused: its retry then finds room.
      if (response.statusCode === 429) full.release();
    };
    diagnostics.subscribe('http.client.response.finish', onAnswer);
    try {
      const provider = new TracerProvider({
        resource: resourceFromAttributes({ 'service.name': 'sdk-test', 'service.instance.id': 'retried-exporter' }),
        spanProcessors: [new SimpleSpanProcessor({ exporter: new ProtoTraceExporter({ url: `${hub.url}/v1/traces`, headers: auth }) })],
      });
      const span = provider.getTracer('test').startSpan('chat');
      span.setAttributes({ 'gen_ai.request.model': 'm-retry', 'gen_ai.usage.input_tokens': 9 });
      span.end();
      await provider.forceFlush();
      await provider.shutdown();
    } finally {
      diagnostics.unsubscribe('http.client.response.finish', onAnswer);
      full.release();
    }
    await full.first;
    assert.equal((await full.queued).status, 200);
    assert.equal(statuses[0], 429, `the exporter was refused first (${statuses.join(', ')})`);
    assert.equal(statuses.at(-1), 200, 'and retried until stored');
    const traces = (await hub.call('GET', '/api/v1/traces?agent_id=retried-exporter')).body.traces;
    assert.equal(traces.length, 1, 'the span arrived after the retry');
    assert.equal(traces[0].input_tokens, 9);
  });
});
