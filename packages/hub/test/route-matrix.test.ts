import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Ajv } from 'ajv';
import WebSocket from 'ws';
import { LIVE_PROTOCOL_VERSION, LiveFrame, LiveHello, type LiveMessage } from '@vigil/protocol';
import type { LiveMessage as HubLiveMessage } from '../src/live/messages.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';

/**
 * The route matrix: every route the hub registers (Fastify's `onRoute`, an exact set) is called on
 * `app.inject()` against a real SQLite store seeded with real data, and each answer, success and
 * refusal, is validated against the response schema the OpenAPI document declares for its status.
 * A route added without a matrix entry, or an answer that drifts from its schema (a field added,
 * dropped or retyped), fails here.
 */

/** Routes left out of the OpenAPI document: the dashboard's pages, the document itself, the WebSocket. */
const UNDOCUMENTED = new Set(['GET /', 'GET /*', 'GET /api/v1/openapi.json', 'GET /api/v1/live']);
const PUBLIC = new Set(['GET /healthz', 'GET /readyz', 'GET /', 'GET /*', 'GET /api/v1/openapi.json', 'POST /api/v1/session']);

type Who = 'admin' | 'none' | 'agent';
interface Case {
  route: string;
  /** The URL with ids filled in (default: the route's own URL). */
  url?: string | (() => string);
  body?: unknown | (() => unknown);
  who?: Who;
  status: number;
  headers?: Record<string, string>;
  /** What else the answer must show, beyond its schema (that the seeded data is in it). */
  check?: (body: any) => void;
}

interface Answer {
  status: number;
  body: any;
  text: string;
  contentType: string;
}

const ajv = new Ajv({ strict: false, allErrors: true });

// At compile time: every message the hub builds is one the contract describes (the test below checks real ones).
const _hubMessagesAreWireMessages = (m: HubLiveMessage): LiveMessage => m;

describe('route matrix: every route, its statuses, and answers that match the OpenAPI document', () => {
  let hub: TestHub;
  let doc: any;
  let receiver: Server;
  let agentKey = '';
  const ids = {
    event: 0,
    error: 0,
    trace: 0,
    rule: 0,
    alert: 0,
    silence: 0,
    webhook: 0,
    key: '',
    claim: '',
  };

  async function call(
    method: string,
    url: string,
    body?: unknown,
    who: Who = 'admin',
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const h: Record<string, string> = { ...headers };
    if (who === 'admin') h.authorization = `Bearer ${ADMIN_TOKEN}`;
    if (who === 'agent') h.authorization = `Bearer ${agentKey}`;
    if (body !== undefined && h['content-type'] === undefined) h['content-type'] = 'application/json';
    const res = await hub.app.inject({
      method: method as 'GET',
      url,
      headers: h,
      ...(body === undefined ? {} : { payload: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    let parsed: unknown;
    try {
      parsed = res.body === '' ? undefined : JSON.parse(res.body);
    } catch {
      parsed = undefined;
    }
    return {
      status: res.statusCode,
      body: parsed,
      text: res.body,
      contentType: String(res.headers['content-type'] ?? '').split(';')[0] ?? '',
    };
  }

  /** The schema the document declares for this route, status and media type (undefined: no body). */
  function declared(route: string, status: number, contentType: string): object | undefined {
    const [method, url] = route.split(' ') as [string, string];
    const path = url.replace(/:(\w+)/g, '{$1}');
    const op = doc.paths[path]?.[method.toLowerCase()];
    assert.ok(op, `${route} is in the OpenAPI document`);
    const res = op.responses[String(status)] ?? op.responses[`${String(status)[0]}XX`];
    assert.ok(res, `${route} documents its ${status} answer`);
    if (res.content === undefined) return undefined;
    const media = res.content[contentType];
    assert.ok(media, `${route} ${status} documents ${contentType} (has ${Object.keys(res.content).join(', ')})`);
    return media.schema as object;
  }

  async function run(c: Case): Promise<Answer> {
    const [method, pattern] = c.route.split(' ') as [string, string];
    const url = typeof c.url === 'function' ? c.url() : (c.url ?? pattern);
    const body = typeof c.body === 'function' ? (c.body as () => unknown)() : c.body;
    const where = `${c.route} as ${c.who ?? 'admin'} (${method} ${url})`;
    const a = await call(method, url, body, c.who, c.headers);
    assert.equal(a.status, c.status, `${where}: status; answer ${a.text.slice(0, 300)}`);
    if (!UNDOCUMENTED.has(c.route)) {
      const schema = declared(c.route, a.status, a.contentType || 'application/json');
      if (schema === undefined) assert.equal(a.text, '', `${where}: no body`);
      else {
        const value = a.contentType === 'application/json' ? a.body : a.text;
        const validate = ajv.compile(schema);
        assert.ok(validate(value), `${where}: answer matches its schema: ${ajv.errorsText(validate.errors)}\n${a.text.slice(0, 600)}`);
      }
    }
    if (a.status >= 400 && a.contentType === 'application/json') {
      assert.equal(typeof a.body?.error?.code, 'string', `${where}: error shape`);
    }
    c.check?.(a.body);
    return a;
  }

  before(async () => {
    receiver = createServer((_req, res) => res.writeHead(204).end());
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    hub = await startTestHub('sqlite', { flags: ['--webhook-allow-private', 'true'] });
    doc = (await call('GET', '/api/v1/openapi.json', undefined, 'none')).body;

    // Real data in every table the reads answer from.
    const now = hub.clock.now();
    const ok = async (method: string, url: string, body?: unknown) => {
      const a = await call(method, url, body);
      assert.ok(a.status < 300, `seed ${method} ${url}: ${a.status} ${a.text.slice(0, 300)}`);
      return a.body;
    };
    await ok('POST', '/api/v1/agents', {
      agent_id: 'gpu-1',
      name: 'GPU box',
      agent_type: 'research',
      pool_name: 'lab',
      capabilities: ['train'],
      metadata: { owner: 'ml' },
    });
    await ok('POST', '/api/v1/agents', {
      agent_id: 'cpu-2',
      name: 'CPU box',
      agent_type: 'code',
      metadata: { notes: 'x'.repeat(3000) },
    });
    await ok('POST', '/api/v1/agents/gpu-1/heartbeat', {
      status: 'online',
      resources: {
        cpu_percent: 42,
        cpu_cores_physical: 8,
        cpu_cores_available: 6,
        memory_percent: 50,
        memory_available_gb: 30,
        gpu_type: 'nvidia',
        gpus: [{ index: 0, uuid: 'GPU-0', name: 'A100', vram_total_gb: 80, vram_used_gb: 10, vram_free_gb: 70, utilization_percent: 5 }],
        gpu_vram_total_gb: 80,
        gpu_vram_available_gb: 70,
        rack: 'r1',
      },
      metrics: { memory_mb: 512, message_count: 3, cpu_percent: 12 },
    });
    await ok('POST', '/api/v1/agents/cpu-2/heartbeat', { resources: { cpu_percent: 3 } });
    ids.event = (
      await ok('POST', '/api/v1/agents/gpu-1/events', { event_type: 'info', message: 'hi', metadata: { k: 1 }, event_id: 'ev-1' })
    ).id;
    ids.error = (
      await ok('POST', '/api/v1/agents/gpu-1/errors', { error_type: 'ValueError', message: 'bad 1', stack_trace: 'at f (x.js:1:2)' })
    ).id;
    ids.trace = (
      await ok('POST', '/api/v1/agents/gpu-1/traces', {
        model: 'claude-sonnet-4-5',
        provider: 'anthropic',
        input_tokens: 100,
        output_tokens: 20,
        cost_usd: 0.01,
        latency_ms: 900,
        attributes: { session: 's1' },
      })
    ).id;
    const key = await ok('POST', '/api/v1/keys', { agent_id: 'gpu-1', name: 'gpu key' });
    agentKey = key.key;
    ids.key = key.key_id;
    ids.webhook = (
      await ok('POST', '/api/v1/webhooks', { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, name: 'w' })
    ).webhook.id;
    ids.rule = (
      await ok('POST', '/api/v1/alert-rules', { name: 'busy cpu', metric: 'cpu_percent', op: '>', threshold: 1, for_seconds: 0 })
    ).rule.id;
    // The engine judges heartbeats as they commit: one after the rule opens its alert.
    await ok('POST', '/api/v1/agents/gpu-1/heartbeat', { metrics: { cpu_percent: 50 } });
    await hub.alerts.idle();
    await hub.notifier.idle();
    const alerts = await ok('GET', '/api/v1/alerts');
    assert.ok(alerts.alerts.length > 0, `the seeded rule opened an alert: ${JSON.stringify(alerts)}`);
    ids.alert = alerts.alerts[0].id;
    ids.silence = (await ok('POST', '/api/v1/silences', { agent_id: 'cpu-2', duration_seconds: 600, comment: 'quiet' })).silence.id;
    assert.ok(now > 0);
  });

  after(async () => {
    await hub?.close();
    await new Promise<void>((resolve) => receiver?.close(() => resolve()));
  });

  const since = () => hub.clock.now() - 3_600_000;

  /** In order: reads first, then changes, then deletions. */
  const CASES: Case[] = [
    { route: 'GET /healthz', who: 'none', status: 200, check: (b) => assert.equal(b.status, 'ok') },
    { route: 'GET /readyz', who: 'none', status: 200 },
    { route: 'GET /api/v1/openapi.json', who: 'none', status: 200 },
    { route: 'GET /', who: 'none', status: 200 },
    { route: 'GET /*', url: '/errors', who: 'none', status: 200 },
    {
      route: 'GET /api/v1/agents',
      status: 200,
      check: (b) => {
        assert.deepEqual(b.agents.map((a: any) => a.agent_id).sort(), ['cpu-2', 'gpu-1']);
        assert.deepEqual(b.agents.find((a: any) => a.agent_id === 'cpu-2').truncated, ['metadata']);
        assert.equal(b.agents.find((a: any) => a.agent_id === 'gpu-1').resource_metrics.rack, 'r1', 'unknown resource fields pass');
      },
    },
    { route: 'GET /api/v1/agents', url: '/api/v1/agents?limit=0', status: 400 },
    {
      route: 'GET /api/v1/agents/:agentId',
      url: '/api/v1/agents/gpu-1',
      status: 200,
      check: (b) => assert.equal(b.agent.llm_totals.calls, 1),
    },
    { route: 'GET /api/v1/agents/:agentId', url: '/api/v1/agents/gpu-1', who: 'agent', status: 200 },
    { route: 'GET /api/v1/agents/:agentId', url: '/api/v1/agents/cpu-2', who: 'agent', status: 403 },
    { route: 'GET /api/v1/agents/:agentId', url: '/api/v1/agents/nobody', status: 404 },
    {
      route: 'GET /api/v1/agents/:agentId/metrics',
      // The hub's clock stands still: `until` is exclusive, so it reaches a millisecond past the samples.
      url: () => `/api/v1/agents/gpu-1/metrics?until=${hub.clock.now() + 1}`,
      status: 200,
      check: (b) => assert.ok(b.points.length > 0 && b.points[0].cpu_percent !== null),
    },
    { route: 'GET /api/v1/agents/:agentId/metrics', url: '/api/v1/agents/gpu-1/metrics?fields=nope', status: 400 },
    { route: 'GET /api/v1/agents/:agentId/metrics', url: '/api/v1/agents/nobody/metrics', status: 404 },
    {
      route: 'GET /api/v1/fleet/metrics',
      url: () => `/api/v1/fleet/metrics?until=${hub.clock.now() + 1}&fields=cpu_percent,memory_mb`,
      status: 200,
      check: (b) => assert.ok(b.points.length > 0 && b.points[0].agents >= 1 && b.points[0].cpu_percent.total > 0),
    },
    { route: 'GET /api/v1/fleet/metrics', url: '/api/v1/fleet/metrics?fields=nope', status: 400 },
    { route: 'GET /api/v1/fleet/metrics', who: 'agent', status: 403 },
    { route: 'GET /api/v1/events', status: 200, check: (b) => assert.ok(b.events.some((e: any) => e.id === ids.event)) },
    { route: 'GET /api/v1/events', url: () => `/api/v1/events?since=0&until=${hub.clock.now()}`, status: 400 },
    { route: 'GET /api/v1/events/:eventId', url: () => `/api/v1/events/${ids.event}`, status: 200 },
    { route: 'GET /api/v1/events/:eventId', url: '/api/v1/events/999999', status: 404 },
    { route: 'GET /api/v1/errors', status: 200, check: (b) => assert.equal(b.errors.length, 1) },
    { route: 'GET /api/v1/errors', url: '/api/v1/errors?resolved=maybe', status: 400 },
    { route: 'GET /api/v1/errors/:errorId', url: () => `/api/v1/errors/${ids.error}`, status: 200 },
    { route: 'GET /api/v1/errors/:errorId', url: '/api/v1/errors/999999', status: 404 },
    { route: 'GET /api/v1/traces', status: 200, check: (b) => assert.equal(b.traces[0].id, ids.trace) },
    { route: 'GET /api/v1/traces', url: '/api/v1/traces?before=0', status: 400 },
    { route: 'GET /api/v1/traces/:traceId', url: () => `/api/v1/traces/${ids.trace}`, status: 200 },
    { route: 'GET /api/v1/traces/:traceId', url: '/api/v1/traces/999999', status: 404 },
    {
      route: 'GET /api/v1/llm/usage',
      url: '/api/v1/llm/usage?group_by=model',
      status: 200,
      check: (b) => assert.equal(b.groups.length, 1),
    },
    { route: 'GET /api/v1/llm/usage', url: '/api/v1/llm/usage', status: 400 },
    {
      route: 'GET /api/v1/capacity',
      url: '/api/v1/capacity?min_gpu_vram_gb=16',
      status: 200,
      check: (b) => assert.deepEqual(b.agents[0].fitting_gpus, [{ index: 0, uuid: 'GPU-0', name: 'A100', vram_free_gb: 70 }]),
    },
    { route: 'GET /api/v1/capacity', url: '/api/v1/capacity?gpu_count=0', status: 400 },
    { route: 'GET /api/v1/capacity', who: 'agent', status: 403 },
    // Capacity claims, while gpu-1 is online with cores free (a write below makes it busy).
    {
      route: 'POST /api/v1/capacity/claim',
      body: { min_cpu_cores: 1, job: 'matrix' },
      status: 201,
      check: (b) => {
        assert.equal(b.agent_id, 'gpu-1');
        ids.claim = b.claim_id;
      },
    },
    { route: 'POST /api/v1/capacity/claim', body: { min_cpu_cores: 100_000, job: 'huge' }, status: 409 },
    { route: 'POST /api/v1/capacity/claim', body: { min_cpu_cores: 1 }, status: 400 },
    { route: 'POST /api/v1/capacity/claim', who: 'agent', body: { min_cpu_cores: 1, job: 'x' }, status: 403 },
    {
      route: 'GET /api/v1/capacity/claims',
      status: 200,
      check: (b) =>
        assert.deepEqual(
          b.claims.map((c: any) => c.job),
          ['matrix'],
        ),
    },
    { route: 'GET /api/v1/capacity/claims', url: '/api/v1/capacity/claims?before=zz', status: 400 },
    { route: 'GET /api/v1/capacity/claims/:claimId', url: () => `/api/v1/capacity/claims/${ids.claim}`, status: 200 },
    { route: 'GET /api/v1/capacity/claims/:claimId', url: '/api/v1/capacity/claims/00000000-0000-0000-0000-000000000000', status: 404 },
    {
      route: 'POST /api/v1/capacity/claims/:claimId/renew',
      url: () => `/api/v1/capacity/claims/${ids.claim}/renew`,
      body: { lease_seconds: 60 },
      status: 200,
    },
    {
      route: 'POST /api/v1/capacity/claims/:claimId/release',
      url: () => `/api/v1/capacity/claims/${ids.claim}/release`,
      status: 200,
      check: (b) => assert.equal(b.status, 'released'),
    },
    { route: 'POST /api/v1/capacity/claims/:claimId/renew', url: () => `/api/v1/capacity/claims/${ids.claim}/renew`, status: 409 },
    {
      route: 'POST /api/v1/capacity/claims/:claimId/release',
      url: '/api/v1/capacity/claims/00000000-0000-0000-0000-000000000000/release',
      status: 404,
    },
    { route: 'GET /api/monitoring/dashboard', status: 200, check: (b) => assert.equal(b.summary.agents_total, 2) },
    { route: 'GET /api/monitoring/dashboard', url: '/api/monitoring/dashboard?extra=1', status: 400 },
    {
      route: 'GET /api/monitoring/agents/:agentId',
      url: '/api/monitoring/agents/gpu-1',
      status: 200,
      check: (b) => assert.ok(b.metrics.length > 0),
    },
    { route: 'GET /api/monitoring/agents/:agentId', url: '/api/monitoring/agents/nobody', status: 404 },
    { route: 'GET /api/v1/system/metrics', status: 200 },
    { route: 'GET /api/v1/system/metrics', url: '/api/v1/system/metrics?limit=0', status: 400 },
    { route: 'GET /api/v1/system/metrics/range', status: 200 },
    {
      route: 'GET /api/v1/system/metrics/range',
      url: () => `/api/v1/system/metrics/range?since=${since()}&until=${since() - 1}`,
      status: 400,
    },
    { route: 'GET /api/v1/storage', status: 200, check: (b) => assert.equal(b.dialect, 'sqlite') },
    { route: 'GET /api/v1/keys', status: 200, check: (b) => assert.equal(b.keys.length, 1) },
    { route: 'GET /api/v1/alert-rules', status: 200, check: (b) => assert.ok(b.rules.some((r: any) => r.id === ids.rule)) },
    { route: 'GET /api/v1/alert-rules/:ruleId', url: () => `/api/v1/alert-rules/${ids.rule}`, status: 200 },
    { route: 'GET /api/v1/alert-rules/:ruleId', url: '/api/v1/alert-rules/999999', status: 404 },
    { route: 'GET /api/v1/alerts', status: 200 },
    { route: 'GET /api/v1/alerts', url: '/api/v1/alerts?state=asleep', status: 400 },
    { route: 'GET /api/v1/alerts/:alertId', url: () => `/api/v1/alerts/${ids.alert}`, status: 200 },
    { route: 'GET /api/v1/alerts/:alertId', url: '/api/v1/alerts/999999', status: 404 },
    {
      route: 'GET /api/v1/silences',
      url: '/api/v1/silences?all=true',
      status: 200,
      check: (b) => assert.equal(b.silences[0].active, true),
    },
    { route: 'GET /api/v1/webhooks', status: 200, check: (b) => assert.doesNotMatch(b.webhooks[0].url, /hook/, 'redacted') },
    { route: 'GET /api/v1/webhooks/:webhookId/deliveries', url: () => `/api/v1/webhooks/${ids.webhook}/deliveries`, status: 200 },
    { route: 'GET /api/v1/webhooks/:webhookId/deliveries', url: '/api/v1/webhooks/999999/deliveries', status: 404 },
    { route: 'GET /api/v1/session', status: 200, check: (b) => assert.equal(b.csrf_token, null) },
    { route: 'GET /metrics', status: 200 },

    // Writes.
    { route: 'POST /api/v1/agents', body: { agent_id: 'new-3', name: 'New', agent_type: 'infra' }, status: 201 },
    { route: 'POST /api/v1/agents', body: { agent_id: 'new-3', name: 'New again', agent_type: 'infra' }, status: 200 },
    { route: 'POST /api/v1/agents', body: { name: 'No type' }, status: 400 },
    { route: 'PATCH /api/v1/agents/:agentId', url: '/api/v1/agents/new-3', body: { paused: true }, status: 200 },
    { route: 'PATCH /api/v1/agents/:agentId', url: '/api/v1/agents/nobody', body: { paused: true }, status: 404 },
    { route: 'PATCH /api/v1/agents/:agentId', url: '/api/v1/agents/new-3', body: {}, status: 400 },
    { route: 'POST /api/v1/agents/:agentId/heartbeat', url: '/api/v1/agents/gpu-1/heartbeat', body: { status: 'busy' }, status: 200 },
    { route: 'POST /api/v1/agents/:agentId/heartbeat', url: '/api/v1/agents/gpu-1/heartbeat', who: 'agent', body: {}, status: 200 },
    { route: 'POST /api/v1/agents/:agentId/heartbeat', url: '/api/v1/agents/cpu-2/heartbeat', who: 'agent', body: {}, status: 403 },
    { route: 'POST /api/v1/agents/:agentId/heartbeat', url: '/api/v1/agents/nobody/heartbeat', body: {}, status: 404 },
    { route: 'POST /api/v1/agents/:agentId/heartbeat', url: '/api/v1/agents/gpu-1/heartbeat', body: { status: 'asleep' }, status: 400 },
    {
      route: 'POST /api/v1/agents/:agentId/heartbeat',
      url: '/api/v1/agents/gpu-1/heartbeat',
      body: () => ({ timestamp: hub.clock.now() + 3_600_000 }),
      status: 422,
    },
    { route: 'POST /api/v1/agents/:agentId/events', url: '/api/v1/agents/gpu-1/events', body: { event_type: 'warning' }, status: 201 },
    {
      route: 'POST /api/v1/agents/:agentId/events',
      url: '/api/v1/agents/gpu-1/events',
      body: { event_type: 'info', event_id: 'ev-1' },
      status: 200,
    },
    { route: 'POST /api/v1/agents/:agentId/events', url: '/api/v1/agents/gpu-1/events', body: { event_type: 'online' }, status: 400 },
    {
      route: 'POST /api/v1/agents/:agentId/events',
      url: '/api/v1/agents/gpu-1/events',
      body: { event_type: 'info', metadata: { big: 'x'.repeat(20_000) } },
      status: 413,
    },
    {
      route: 'POST /api/v1/agents/:agentId/errors',
      url: '/api/v1/agents/gpu-1/errors',
      body: { error_type: 'E', message: 'new' },
      status: 201,
    },
    {
      route: 'POST /api/v1/agents/:agentId/errors',
      url: '/api/v1/agents/nobody/errors',
      body: { error_type: 'E', message: 'm' },
      status: 404,
    },
    { route: 'POST /api/v1/agents/:agentId/errors', url: '/api/v1/agents/gpu-1/errors', body: { message: 'm' }, status: 400 },
    { route: 'POST /api/v1/agents/:agentId/traces', url: '/api/v1/agents/gpu-1/traces', body: { model: 'm' }, status: 201 },
    { route: 'POST /api/v1/agents/:agentId/traces', url: '/api/v1/agents/gpu-1/traces', body: { model: '' }, status: 400 },
    {
      route: 'POST /api/v1/ingest',
      body: {
        heartbeats: [{ agent_id: 'gpu-1', resources: { cpu_percent: 40 } }],
        events: [{ agent_id: 'gpu-1', event_type: 'info', message: 'batched' }],
        errors: [{ agent_id: 'gpu-1', error_type: 'E', message: 'batched' }],
        traces: [{ agent_id: 'gpu-1', model: 'm' }],
      },
      status: 200,
      check: (b) => assert.deepEqual(b.accepted, { heartbeats: 1, events: 1, errors: 1, traces: 1 }),
    },
    {
      route: 'POST /api/v1/ingest',
      body: { events: [{ agent_id: 'nobody', event_type: 'info' }] },
      status: 207,
      check: (b) => assert.equal(b.rejected[0].code, 'VIGIL_AGENT_NOT_FOUND'),
    },
    { route: 'POST /api/v1/ingest', body: { pings: [] }, status: 400 },
    {
      route: 'POST /api/monitoring/agents/:agentId/events',
      url: '/api/monitoring/agents/gpu-1/events',
      body: { eventType: 'info', message: 'seed' },
      status: 201,
    },
    {
      route: 'POST /api/monitoring/agents/:agentId/events',
      url: '/api/monitoring/agents/gpu-1/events',
      body: { event_type: 'info' },
      status: 400,
    },
    {
      route: 'POST /api/monitoring/agents/:agentId/errors',
      url: '/api/monitoring/agents/gpu-1/errors',
      body: { error: { name: 'TypeError', message: 'seed' } },
      status: 201,
    },
    {
      route: 'POST /api/monitoring/agents/:agentId/errors',
      url: '/api/monitoring/agents/nobody/errors',
      body: { error: { message: 'm' } },
      status: 404,
    },
    { route: 'POST /api/v1/errors/:errorId/resolve', url: () => `/api/v1/errors/${ids.error}/resolve`, status: 200 },
    { route: 'POST /api/v1/errors/:errorId/resolve', url: '/api/v1/errors/999999/resolve', status: 404 },
    { route: 'POST /api/v1/errors/:errorId/unresolve', url: () => `/api/v1/errors/${ids.error}/unresolve`, status: 200 },
    { route: 'POST /api/v1/errors/:errorId/unresolve', url: '/api/v1/errors/0/unresolve', status: 400 },
    { route: 'PATCH /api/monitoring/errors/:errorId/resolve', url: () => `/api/monitoring/errors/${ids.error}/resolve`, status: 200 },
    { route: 'PATCH /api/monitoring/errors/:errorId/resolve', url: '/api/monitoring/errors/999999/resolve', status: 404 },
    { route: 'POST /api/v1/keys', body: { pool_name: 'lab' }, status: 201, check: (b) => assert.equal(typeof b.key, 'string') },
    { route: 'POST /api/v1/keys', body: {}, status: 400 },
    { route: 'POST /api/v1/alert-rules', body: { name: 'mem', metric: 'memory_mb', op: '>', threshold: 1e6 }, status: 201 },
    { route: 'POST /api/v1/alert-rules', body: { name: 'mem', metric: 'memory_mb', op: '>', threshold: 1e6 }, status: 409 },
    { route: 'POST /api/v1/alert-rules', body: { name: 'x', metric: 'nope', op: '>', threshold: 1 }, status: 400 },
    {
      route: 'PATCH /api/v1/alert-rules/:ruleId',
      url: () => `/api/v1/alert-rules/${ids.rule}`,
      body: { severity: 'critical' },
      status: 200,
    },
    { route: 'PATCH /api/v1/alert-rules/:ruleId', url: '/api/v1/alert-rules/999999', body: { severity: 'critical' }, status: 404 },
    { route: 'POST /api/v1/alerts/:alertId/ack', url: () => `/api/v1/alerts/${ids.alert}/ack`, status: 200 },
    { route: 'POST /api/v1/alerts/:alertId/ack', url: '/api/v1/alerts/999999/ack', status: 404 },
    { route: 'POST /api/v1/silences', body: () => ({ rule_id: ids.rule, until: hub.clock.now() + 60_000 }), status: 201 },
    { route: 'POST /api/v1/silences', body: { duration_seconds: 60 }, status: 400 },
    { route: 'POST /api/v1/webhooks', body: { url: 'ftp://example.com/' }, status: 400 },
    {
      route: 'POST /api/v1/webhooks/:webhookId/test',
      url: () => `/api/v1/webhooks/${ids.webhook}/test`,
      status: 200,
      check: (b) => assert.equal(b.delivered, true),
    },
    { route: 'POST /api/v1/webhooks/:webhookId/test', url: '/api/v1/webhooks/999999/test', status: 404 },
    { route: 'POST /api/v1/session', who: 'none', body: { token: ADMIN_TOKEN }, status: 201 },
    { route: 'POST /api/v1/session', who: 'none', body: { token: 'wrong' }, status: 401 },
    { route: 'POST /api/v1/session', who: 'none', body: {}, status: 400 },
    { route: 'POST /v1/traces', body: { resourceSpans: [] }, status: 200 },
    { route: 'POST /v1/traces', body: '{', status: 400 },
    { route: 'POST /v1/metrics', body: { resourceMetrics: [] }, status: 200 },
    { route: 'POST /v1/logs', body: { resourceLogs: [] }, status: 200 },
    { route: 'POST /v1/logs', body: { resourceLogs: [] }, headers: { 'content-type': 'text/plain' }, status: 415 },

    // Deletions last.
    { route: 'DELETE /api/v1/silences/:silenceId', url: () => `/api/v1/silences/${ids.silence}`, status: 200 },
    { route: 'DELETE /api/v1/silences/:silenceId', url: '/api/v1/silences/999999', status: 404 },
    { route: 'DELETE /api/v1/alert-rules/:ruleId', url: () => `/api/v1/alert-rules/${ids.rule}`, status: 200 },
    { route: 'DELETE /api/v1/alert-rules/:ruleId', url: '/api/v1/alert-rules/999999', status: 404 },
    { route: 'DELETE /api/v1/webhooks/:webhookId', url: () => `/api/v1/webhooks/${ids.webhook}`, status: 200 },
    { route: 'DELETE /api/v1/webhooks/:webhookId', url: '/api/v1/webhooks/999999', status: 404 },
    { route: 'DELETE /api/v1/keys/:keyId', url: () => `/api/v1/keys/${ids.key}`, status: 200 },
    { route: 'DELETE /api/v1/keys/:keyId', url: '/api/v1/keys/nokey', status: 404 },
    {
      route: 'DELETE /api/v1/agents/:agentId',
      url: '/api/v1/agents/new-3',
      status: 200,
      check: (b) => assert.equal(b.already_deleted, false),
    },
    { route: 'DELETE /api/v1/agents/:agentId', url: '/api/v1/agents/new-3?keep_history=maybe', status: 400 },
    { route: 'DELETE /api/v1/session', status: 204 },
  ];

  test('the matrix covers exactly the routes the hub registers', () => {
    const registered = new Set(hub.app.routeInventory);
    assert.equal(registered.size, hub.app.routeInventory.length, 'no route registered twice');
    // The live feed is a WebSocket: its handshake and messages are checked by the last test.
    const covered = new Set([...CASES.map((c) => c.route), 'GET /api/v1/live']);
    assert.deepEqual(
      [...registered].filter((r) => !covered.has(r)),
      [],
      'registered routes without a matrix entry',
    );
    assert.deepEqual(
      [...covered].filter((r) => !registered.has(r)),
      [],
      'matrix entries for routes that do not exist',
    );
  });

  test('every documented route declares its answers, with the error body for refusals', () => {
    for (const route of hub.app.routeInventory) {
      if (UNDOCUMENTED.has(route)) continue;
      const [method, url] = route.split(' ') as [string, string];
      const responses = doc.paths[url.replace(/:(\w+)/g, '{$1}')]?.[method.toLowerCase()]?.responses ?? {};
      assert.ok(
        Object.keys(responses).some((s) => /^2\d\d$/.test(s)),
        `${route} declares a success answer (has ${Object.keys(responses).join(', ')})`,
      );
      assert.ok(responses['4XX'] && responses['5XX'], `${route} declares its refusals`);
    }
  });

  test('without credentials, every closed route answers 401 in the declared error shape', async () => {
    for (const route of hub.app.routeInventory) {
      if (PUBLIC.has(route) || route === 'GET /api/v1/live') continue;
      const first = CASES.find((c) => c.route === route) as Case;
      await run({ route, url: first.url, body: first.body, who: 'none', status: 401 });
    }
  });

  test('every case answers its status with a body its schema accepts', async () => {
    for (const c of CASES) await run(c);
  });

  test('the live feed sends hello with its protocol version, then frames of messages the contract describes', async () => {
    const socket = new WebSocket(hub.url.replace(/^http/, 'ws') + '/api/v1/live', { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    const frames: unknown[] = [];
    const seen = new Set<string>();
    socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as unknown;
      frames.push(frame);
      if (Array.isArray(frame)) for (const m of frame) seen.add((m as { type: string }).type);
    });
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    const changes: [string, string, unknown][] = [
      ['POST', '/api/v1/agents', { agent_id: 'live-1', name: 'Live', agent_type: 'code' }],

      ['POST', '/api/v1/agents/live-1/events', { event_type: 'info', message: 'm' }],
      ['POST', '/api/v1/agents/live-1/errors', { error_type: 'E', message: 'm' }],
      ['PATCH', '/api/v1/agents/live-1', { name: 'Renamed' }],
      ['POST', '/api/v1/alert-rules', { name: 'live cpu', metric: 'cpu_percent', op: '>', threshold: 90, for_seconds: 0 }],
      ['POST', '/api/v1/agents/live-1/heartbeat', { resources: { cpu_percent: 99 }, metrics: { cpu_percent: 99 } }],
      ['DELETE', '/api/v1/agents/live-1', undefined],
    ];
    for (const [method, url, body] of changes) assert.ok((await call(method, url, body)).status < 300, `${method} ${url}`);
    const want = ['agent_status', 'metrics_update', 'event', 'error', 'agent_updated', 'alert', 'agent_removed'];
    const deadline = Date.now() + 5000;
    while (want.some((t) => !seen.has(t)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    socket.close();
    assert.deepEqual(
      want.filter((t) => !seen.has(t)),
      [],
      `every kind of change was announced: ${JSON.stringify(frames).slice(0, 500)}`,
    );
    const hello = ajv.compile(LiveHello);
    assert.ok(hello(frames[0]), `hello: ${ajv.errorsText(hello.errors)} ${JSON.stringify(frames[0])}`);
    assert.equal((frames[0] as { protocol_version: number }).protocol_version, LIVE_PROTOCOL_VERSION);
    const frame = ajv.compile(LiveFrame);
    for (const f of frames.slice(1)) assert.ok(frame(f), `frame: ${ajv.errorsText(frame.errors)} ${JSON.stringify(f).slice(0, 600)}`);
  });
});
