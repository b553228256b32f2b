import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { ExportLogsServiceRequest, ExportServiceResponse, RpcStatus } from '../src/otlp/schema.js';
import type { ManualClock } from '../src/clock.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

/** OTLP/HTTP receiver: encodings, answers, limits, idempotency (docs/otlp.md). */

const NS = 1_000_000n;

interface Sent {
  status: number;
  headers: Record<string, unknown>;
  bytes: Buffer;
  json: any;
}

async function post(
  hub: TestHub,
  path: string,
  body: Buffer | string,
  opts: { type?: string; token?: string | null; gzip?: boolean; encoding?: string } = {},
): Promise<Sent> {
  const headers: Record<string, string> = { 'content-type': opts.type ?? 'application/json' };
  const token = opts.token === undefined ? ADMIN_TOKEN : opts.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let payload = typeof body === 'string' ? Buffer.from(body) : body;
  if (opts.gzip) {
    payload = gzipSync(payload);
    headers['content-encoding'] = 'gzip';
  }
  if (opts.encoding) headers['content-encoding'] = opts.encoding;
  const res = await request(`${hub.url}${path}`, { method: 'POST', headers, body: payload });
  const bytes = Buffer.from(await res.body.arrayBuffer());
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, bytes, json };
}

const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
const int = (key: string, value: number | string) => ({ key, value: { intValue: value } });
const dbl = (key: string, value: number) => ({ key, value: { doubleValue: value } });

/** A Claude Code `api_request` event as its OTLP/JSON log record (documented attribute names). */
function apiRequest(at: bigint, model: string, input: number, output: number, cacheRead: number, cacheCreation: number, cost: number) {
  return {
    timeUnixNano: String(at),
    observedTimeUnixNano: String(at),
    body: { stringValue: 'claude_code.api_request' },
    attributes: [
      str('event.name', 'api_request'),
      str('event.timestamp', new Date(Number(at / NS)).toISOString()),
      str('session.id', 'session-1'),
      str('user.id', 'install-abc'),
      str('model', model),
      dbl('cost_usd', cost),
      int('duration_ms', 1200),
      int('input_tokens', String(input)),
      int('output_tokens', output),
      int('cache_read_tokens', cacheRead),
      int('cache_creation_tokens', cacheCreation),
    ],
  };
}

function claudeLogs(records: unknown[], resource: unknown[] = [str('service.name', 'claude-code'), str('service.version', '2.0.0')]) {
  return {
    resourceLogs: [
      { resource: { attributes: resource }, scopeLogs: [{ scope: { name: 'com.anthropic.claude_code.events' }, logRecords: records }] },
    ],
  };
}

for (const dialect of DIALECTS) {
  describe(`OTLP/HTTP on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    let hub: TestHub;
    before(async () => {
      if (!skip) hub = await startTestHub(dialect, { flags: ['--otlp-body-limit', '65536', '--otlp-max-series', '5'] });
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    test(
      'Claude Code api_request events in JSON become LLM calls of one agent per installation; a retry is stored once',
      { skip },
      async () => {
        const t0 = BigInt(hub.clock.now()) * NS;
        const body = JSON.stringify(
          claudeLogs([
            apiRequest(t0, 'claude-sonnet-4-5', 1200, 340, 5000, 800, 0.012345),
            apiRequest(t0 + 5n * NS, 'claude-haiku-4-5', 10, 2, 0, 0, 0.000101),
          ]),
        );
        const first = await post(hub, '/v1/logs', body);
        assert.equal(first.status, 200, JSON.stringify(first.json));
        assert.deepEqual(first.json, {});
        const retry = await post(hub, '/v1/logs', body);
        assert.equal(retry.status, 200);

        const traces = await hub.call('GET', '/api/v1/traces?limit=50');
        const calls = traces.body.traces.filter((t: any) => t.agent_id.startsWith('claude-code-'));
        assert.equal(calls.length, 2, 'two calls, the retried export stored once');
        const sonnet = calls.find((c: any) => c.model === 'claude-sonnet-4-5');
        assert.equal(sonnet.input_tokens, 1200);
        assert.equal(sonnet.output_tokens, 340);
        assert.equal(sonnet.cache_read_tokens, 5000);
        assert.equal(sonnet.cache_creation_tokens, 800);
        assert.equal(sonnet.cost_usd, 0.012345);
        assert.equal(sonnet.latency_ms, 1200);
        assert.equal(sonnet.timestamp, Number(t0 / NS));
        const agent = await hub.call('GET', `/api/v1/agents/${sonnet.agent_id}`);
        assert.equal(agent.status, 200);
        assert.equal(agent.body.agent_type ?? agent.body.agent?.agent_type, 'claude-code');
      },
    );

    test('protobuf and gzip: the same decoder, a protobuf answer', { skip }, async () => {
      const t0 = BigInt(hub.clock.now()) * NS;
      const json = claudeLogs(
        [apiRequest(t0, 'model-pb', 7, 3, 0, 0, 0.5)],
        [str('service.name', 'claude-code'), str(`vigil.agent_id`, `pb-agent-${dialect}`)],
      );
      // protobufjs's fromObject reads the same field names; ids are absent here, so no hex/bytes difference.
      const bytes = Buffer.from(ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject(json)).finish());
      const res = await post(hub, '/v1/logs', bytes, { type: 'application/x-protobuf', gzip: true });
      assert.equal(res.status, 200);
      assert.match(String(res.headers['content-type']), /application\/x-protobuf/);
      const answer = ExportServiceResponse.decode(res.bytes) as unknown as { partialSuccess?: unknown };
      assert.equal(answer.partialSuccess ?? null, null);
      const traces = await hub.call('GET', `/api/v1/traces?agent_id=pb-agent-${dialect}`);
      assert.equal(traces.body.traces.length, 1);
      assert.equal(traces.body.traces[0].input_tokens, 7);
    });

    test('400 for malformed data, 413 past the decompressed limit, 415 for other types, 401 as a google.rpc.Status', { skip }, async () => {
      const malformed = await post(hub, '/v1/traces', '{"resourceSpans": 5}');
      assert.equal(malformed.status, 400);
      assert.equal(malformed.json.code, 3);
      assert.equal(malformed.json.error.code, 'VIGIL_VALIDATION');

      const badProto = await post(hub, '/v1/metrics', Buffer.from([0x0a, 0xff, 0xff, 0xff]), { type: 'application/x-protobuf' });
      assert.equal(badProto.status, 400);
      assert.equal((RpcStatus.decode(badProto.bytes) as unknown as { code: number }).code, 3);

      // 1 MiB of zeros gzips to about 1 KiB: under the body limit compressed, over it decompressed.
      const bomb = Buffer.concat([Buffer.from('{"resourceLogs":[],"x":"'), Buffer.alloc(1024 * 1024, 0x30), Buffer.from('"}')]);
      const big = await post(hub, '/v1/logs', bomb, { gzip: true });
      assert.equal(big.status, 413);
      assert.equal(big.json.error.code, 'VIGIL_BODY_TOO_LARGE');

      const text = await post(hub, '/v1/logs', 'hello', { type: 'text/plain' });
      assert.equal(text.status, 415);
      const brotli = await post(hub, '/v1/logs', '{}', { encoding: 'br' });
      assert.equal(brotli.status, 415);

      const anonymous = await post(hub, '/v1/logs', Buffer.alloc(0), { type: 'application/x-protobuf', token: null });
      assert.equal(anonymous.status, 401);
      assert.equal((RpcStatus.decode(anonymous.bytes) as unknown as { code: number }).code, 16);
    });

    test('an agent key writes only its own agent: vigil.agent_id naming another is 403, nothing stored', { skip }, async () => {
      const id = `keyed-${dialect}`;
      assert.equal((await hub.call('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 'test' })).status, 201);
      const key = (await hub.call('POST', '/api/v1/keys', { agent_id: id })).body.key as string;
      const t0 = BigInt(hub.clock.now()) * NS;
      const other = claudeLogs([apiRequest(t0, 'm', 1, 1, 0, 0, 0)], [str('vigil.agent_id', 'someone-else')]);
      const refused = await post(hub, '/v1/logs', JSON.stringify(other), { token: key });
      assert.equal(refused.status, 403);
      assert.equal(refused.json.code, 7);
      const own = claudeLogs([apiRequest(t0, 'm', 1, 1, 0, 0, 0)], [str('service.name', 'claude-code')]);
      assert.equal((await post(hub, '/v1/logs', JSON.stringify(own), { token: key })).status, 200);
      const traces = await hub.call('GET', `/api/v1/traces?agent_id=${id}`);
      assert.equal(traces.body.traces.length, 1);
      assert.equal((await hub.call('GET', '/api/v1/traces?agent_id=someone-else')).body.traces.length, 0);
    });

    test('GenAI spans (with old attribute names) become LLM calls; other spans are counted as rejected', { skip }, async () => {
      const t0 = BigInt(hub.clock.now()) * NS;
      const span = (spanId: string, attrs: unknown[]) => ({
        traceId: '5b8efff798038103d269b633813fc60c',
        spanId,
        name: 'chat gpt-4o',
        startTimeUnixNano: String(t0),
        endTimeUnixNano: String(t0 + 250n * NS),
        attributes: attrs,
        status: { code: 2, message: 'rate limited' },
      });
      const body = {
        resourceSpans: [
          {
            resource: { attributes: [str('service.name', 'my-agent'), str('service.instance.id', `inst-${dialect}`)] },
            scopeSpans: [
              {
                spans: [
                  span('eee19b7ec3c1b174', [
                    str('gen_ai.system', 'openai'),
                    str('gen_ai.request.model', 'gpt-4o'),
                    int('gen_ai.usage.prompt_tokens', 11),
                    int('gen_ai.usage.completion_tokens', 0),
                  ]),
                  span('eee19b7ec3c1b175', [str('http.method', 'GET')]),
                  span('0000000000000000', [str('gen_ai.system', 'openai')]),
                ],
              },
            ],
          },
        ],
      };
      const res = await post(hub, '/v1/traces', JSON.stringify(body));
      assert.equal(res.status, 200);
      assert.equal(res.json.partialSuccess.rejectedSpans, 2);
      assert.match(res.json.partialSuccess.errorMessage, /gen_ai/);
      const traces = (await hub.call('GET', `/api/v1/traces?agent_id=inst-${dialect}`)).body.traces;
      assert.equal(traces.length, 1);
      const t = traces[0];
      assert.equal(t.provider, 'openai');
      assert.equal(t.input_tokens, 11);
      assert.equal(t.output_tokens, 0, 'a zero count is kept, not dropped');
      assert.equal(t.latency_ms, 250);
      assert.equal(t.status, 'error');
      assert.equal(t.error, 'rate limited');
      assert.equal(t.trace_id, '5b8efff798038103d269b633813fc60c');
    });
    test('one Claude Code call sent as an api_request event and as an llm_request span is stored once', { skip }, async () => {
      const agentId = `both-signals-${dialect}`;
      const t0 = BigInt(hub.clock.now()) * NS;
      const resource = [str('service.name', 'claude-code'), str('vigil.agent_id', agentId)];
      const event = apiRequest(t0, 'claude-sonnet-4-5', 30, 3, 0, 0, 0.01);
      event.attributes.push(str('request_id', 'req_011CUmkT6xFq'));
      assert.equal((await post(hub, '/v1/logs', JSON.stringify(claudeLogs([event], resource)))).status, 200);
      const span = (spanId: string, requestId?: string) => ({
        traceId: '6b8efff798038103d269b633813fc60c',
        spanId,
        name: 'claude_code.llm_request',
        startTimeUnixNano: String(t0),
        endTimeUnixNano: String(t0 + 900n * NS),
        attributes: [
          str('model', 'claude-sonnet-4-5'),
          int('input_tokens', 30),
          int('output_tokens', 3),
          ...(requestId ? [str('request_id', requestId)] : []),
        ],
      });
      const spans = {
        resourceSpans: [
          {
            resource: { attributes: resource },
            scopeSpans: [{ spans: [span('aee19b7ec3c1b174', 'req_011CUmkT6xFq'), span('bee19b7ec3c1b174')] }],
          },
        ],
      };
      const res = await post(hub, '/v1/traces', JSON.stringify(spans));
      assert.equal(res.status, 200);
      assert.match(res.json.partialSuccess.errorMessage, /request_id/);
      const traces = (await hub.call('GET', `/api/v1/traces?agent_id=${agentId}`)).body.traces;
      assert.equal(traces.length, 1, 'the span with the same request_id is the same call; the one without is not a second copy');
      assert.equal(traces[0].source, 'claude_code_event');
    });
    test('telemetry silent: an agent whose export vigil run set up, alive but sending no OTLP data, is flagged', { skip }, async () => {
      const clock = hub.clock as ManualClock;
      const agentId = `silent-${dialect}`;
      const metadata = { wrapper: 'vigil run', otel_export_since: clock.now() };
      assert.equal(
        (await hub.call('POST', '/api/v1/agents', { agent_id: agentId, name: 'claude', agent_type: 'process', metadata })).status,
        201,
      );
      const state = async () => (await hub.call('GET', `/api/v1/agents/${agentId}`)).body.agent;
      assert.equal((await state()).telemetry_silent, null, 'not judged before its window');
      clock.advance(200_000);
      assert.equal((await hub.call('POST', `/api/v1/agents/${agentId}/heartbeat`, { status: 'online' })).status, 200);
      assert.match((await state()).telemetry_silent, /No OpenTelemetry data for 200 s.*Known causes/);
      const t = BigInt(clock.now()) * NS;
      assert.equal(
        (await post(hub, '/v1/logs', JSON.stringify(claudeLogs([apiRequest(t, 'm', 1, 1, 0, 0, 0)], [str('vigil.agent_id', agentId)]))))
          .status,
        200,
      );
      const after = await state();
      assert.equal(after.telemetry_silent, null, 'data arrived');
      assert.equal(after.last_telemetry_at, clock.now());
      assert.equal(after.llm_state, 'busy');
      clock.advance(130_000);
      assert.equal((await state()).llm_state, 'idle', 'idle after --llm-busy-window (120 s)');
      assert.equal((await state()).telemetry_silent, null, 'within three minutes of the last data');
      clock.advance(60_000);
      assert.match((await state()).telemetry_silent, /No OpenTelemetry data for 190 s/);
    });
    test('process metrics fill the agent columns; series past --otlp-max-series are dropped and counted', { skip }, async () => {
      const agentId = `proc-${dialect}`;
      const t = String(BigInt(hub.clock.now()) * NS);
      const gauge = (name: string, points: { v: number; mode?: string }[]) => ({
        name,
        gauge: { dataPoints: points.map((p) => ({ timeUnixNano: t, asDouble: p.v, attributes: p.mode ? [str('cpu.mode', p.mode)] : [] })) },
      });
      const body = {
        resourceMetrics: [
          {
            resource: { attributes: [str('service.instance.id', agentId)] },
            scopeMetrics: [
              {
                metrics: [
                  gauge('process.cpu.utilization', [
                    { v: 0.2, mode: 'user' },
                    { v: 0.05, mode: 'system' },
                  ]),
                  { name: 'process.memory.usage', unit: 'By', gauge: { dataPoints: [{ timeUnixNano: t, asInt: '104857600' }] } },
                  // Three series above, five more here: two fit under the limit of 5, three are dropped.
                  gauge(
                    'queue.depth',
                    [1, 2, 3, 4, 5].map((v) => ({ v, mode: `q${v}` })),
                  ),
                ],
              },
            ],
          },
        ],
      };
      const res = await post(hub, '/v1/metrics', JSON.stringify(body));
      assert.equal(res.status, 200);
      assert.equal(res.json.partialSuccess.rejectedDataPoints, 3);
      assert.match(res.json.partialSuccess.errorMessage, /series limit/);
      const agent = (await hub.call('GET', `/api/v1/agents/${agentId}`)).body.agent;
      assert.equal(agent.cpu_percent, 25);
      assert.equal(agent.memory_mb, 100);
      const series = await hub.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM otlp_series WHERE agent_id = ?', [agentId]);
      assert.equal(Number(series?.n), 5);
    });
  });
}
