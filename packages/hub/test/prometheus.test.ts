import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import WebSocket from 'ws';
import type { ManualClock } from '../src/clock.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';
import { parseExposition, promtoolCheck, promtoolUnavailable, sumOf, type Sample } from './support/promtool.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

/** `GET /metrics` as Prometheus scrapes it: real HTTP, the text format, the admin token as a bearer credential. */
async function scrape(hub: TestHub, token: string | null = ADMIN_TOKEN): Promise<{ status: number; type: string; text: string }> {
  const res = await request(`${hub.url}/metrics`, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  return { status: res.statusCode, type: String(res.headers['content-type']), text: await res.body.text() };
}

async function samples(hub: TestHub): Promise<Sample[]> {
  // The fleet is read at most once per cache period by the hub's clock: step past it.
  (hub.clock as ManualClock).advance(10_000);
  const r = await scrape(hub);
  assert.equal(r.status, 200, r.text);
  return parseExposition(r.text);
}

async function seedFleet(hub: TestHub): Promise<void> {
  const register = (agent_id: string, pool_name: string, agent_type: string) =>
    hub.call('POST', '/api/v1/agents', { agent_id, name: agent_id, agent_type, pool_name });
  assert.equal((await register('p-1', 'coding', 'claude-code')).status, 201);
  assert.equal((await register('p-2', 'coding', 'claude-code')).status, 201);
  assert.equal((await register('p-3', 'research', 'codex')).status, 201);
  const hb = await hub.call('POST', '/api/v1/agents/p-1/heartbeat', {
    status: 'busy',
    resources: { gpu_vram_available_gb: 20, gpu_type: 'nvidia' },
    metrics: { cpu_percent: 42.5, memory_mb: 256 },
  });
  assert.equal(hb.status, 200);
  await hub.call('POST', '/api/v1/agents/p-2/heartbeat', { status: 'idle', metrics: { cpu_percent: 3 } });
  await hub.call('POST', '/api/v1/agents/p-1/errors', { error_type: 'ValueError', message: 'one' });
  await hub.call('POST', '/api/v1/agents/p-1/errors', { error_type: 'KeyError', message: 'two' });
  const trace = (agent: string, body: object) => hub.call('POST', `/api/v1/agents/${agent}/traces`, body);
  assert.equal(
    (await trace('p-1', { model: 'sonnet', input_tokens: 1200, output_tokens: 350, cost_usd: 0.0093, status: 'ok' })).status,
    201,
  );
  assert.equal(
    (await trace('p-1', { model: 'sonnet', input_tokens: 800, output_tokens: 50, cost_usd: 0.0041, status: 'error' })).status,
    201,
  );
  assert.equal((await trace('p-3', { model: 'gpt-5', input_tokens: 10, output_tokens: 20, cost_usd: 0.5, status: 'ok' })).status, 201);
}

const round6 = (n: number) => Math.round(n * 1e6) / 1e6;

for (const dialect of DIALECTS) {
  describe(`Prometheus /metrics on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    let hub: TestHub;
    before(async () => {
      if (skip) return;
      hub = await startTestHub(dialect, { flags: ['--host-metrics-interval', '0'] });
      await seedFleet(hub);
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    test('without the admin token /metrics is refused, and the refusal is counted by code', { skip }, async () => {
      const none = await scrape(hub, null);
      assert.equal(none.status, 401);
      assert.equal(JSON.parse(none.text).error.code, 'VIGIL_UNAUTHORIZED');
      const wrong = await scrape(hub, 'not-the-token');
      assert.equal(wrong.status, 401);
      // An agent's key may report, not read the whole fleet's figures.
      const agentKey = (await hub.call('POST', '/api/v1/keys', { agent_id: 'p-1' })).body.key as string;
      const forbidden = await scrape(hub, agentKey);
      assert.equal(forbidden.status, 403);
      assert.equal(JSON.parse(forbidden.text).error.code, 'VIGIL_FORBIDDEN');
      const s = await samples(hub);
      assert.ok(sumOf(s, 'vigil_http_refused_requests_total', { code: 'VIGIL_UNAUTHORIZED' }) >= 2);
    });

    test('the exposition passes promtool check metrics', { skip: skip ?? promtoolUnavailable() }, async () => {
      (hub.clock as ManualClock).advance(10_000);
      const r = await scrape(hub);
      assert.equal(r.status, 200);
      assert.match(r.type, /^text\/plain; version=0\.0\.4/);
      const verdict = await promtoolCheck(r.text);
      assert.equal(verdict.code, 0, `promtool check metrics:\n${verdict.output}`);
    });

    test("the fleet's figures match the API's", { skip }, async () => {
      const s = await samples(hub);
      const listed = (await hub.call('GET', '/api/v1/agents')).body.agents as { status: string; pool_name: string }[];
      for (const status of ['busy', 'idle', 'offline']) {
        assert.equal(sumOf(s, 'vigil_agents', { status }), listed.filter((a) => a.status === status).length, `agents ${status}`);
      }
      assert.equal(sumOf(s, 'vigil_agents', { pool: 'coding', type: 'claude-code' }), 2);
      const p1 = (await hub.call('GET', '/api/v1/agents/p-1')).body.agent;
      assert.equal(sumOf(s, 'vigil_agent_cpu_percent', { agent_id: 'p-1' }), p1.cpu_percent);
      assert.equal(sumOf(s, 'vigil_agent_memory_bytes', { agent_id: 'p-1' }), p1.memory_mb * 1024 * 1024);
      assert.equal(sumOf(s, 'vigil_agent_gpu_vram_available_bytes', { agent_id: 'p-1' }), 20 * 1024 ** 3);
      assert.equal(sumOf(s, 'vigil_agent_unresolved_errors', { agent_id: 'p-1' }), 2);
      assert.equal(sumOf(s, 'vigil_unresolved_errors', { pool: 'coding' }), 2);

      const usage = (await hub.call('GET', '/api/v1/llm/usage?group_by=model')).body.groups as {
        key: string;
        calls: number;
        errors: number;
        input_tokens: number;
        output_tokens: number;
        cost_usd: number;
      }[];
      assert.equal(usage.length, 2);
      for (const u of usage) {
        assert.equal(sumOf(s, 'vigil_llm_calls_total', { model: u.key }), u.calls, u.key);
        assert.equal(sumOf(s, 'vigil_llm_errors_total', { model: u.key }), u.errors, u.key);
        assert.equal(sumOf(s, 'vigil_llm_tokens_total', { model: u.key, type: 'input' }), u.input_tokens, u.key);
        assert.equal(sumOf(s, 'vigil_llm_tokens_total', { model: u.key, type: 'output' }), u.output_tokens, u.key);
        assert.equal(round6(sumOf(s, 'vigil_llm_cost_usd_total', { model: u.key })), u.cost_usd, u.key);
      }
      assert.equal(sumOf(s, 'vigil_llm_cost_usd_total', { pool: 'research', agent_id: 'p-3', model: 'gpt-5' }), 0.5);
    });

    test('LLM counters add only new calls, and keep their totals when retention deletes the rows', { skip }, async () => {
      const before = sumOf(await samples(hub), 'vigil_llm_tokens_total', { agent_id: 'p-3', type: 'output' });
      await hub.call('POST', '/api/v1/agents/p-3/traces', { model: 'gpt-5', output_tokens: 5, cost_usd: 0.25 });
      let s = await samples(hub);
      assert.equal(sumOf(s, 'vigil_llm_tokens_total', { agent_id: 'p-3', type: 'output' }), before + 5);
      await hub.db.run('DELETE FROM llm_traces');
      s = await samples(hub);
      assert.equal(sumOf(s, 'vigil_llm_tokens_total', { agent_id: 'p-3', type: 'output' }), before + 5);
    });

    test("the hub's own figures: commits, batch sizes, queue, live clients, refusals", { skip }, async () => {
      const s = await samples(hub);
      assert.ok(sumOf(s, 'vigil_writer_commit_seconds_count') >= 8, 'every seeded write committed');
      assert.ok(sumOf(s, 'vigil_writer_batch_commands_sum') >= 8);
      assert.equal(sumOf(s, 'vigil_ingest_queue_depth'), 0);
      assert.equal(sumOf(s, 'vigil_ingest_queue_capacity'), hub.writer.capacity);
      assert.equal(sumOf(s, 'vigil_live_clients'), 0);
      const missing = await hub.call('GET', '/api/v1/agents/nobody');
      assert.equal(missing.status, 404);
      const code = missing.body.error.code as string;
      const after = await samples(hub);
      assert.equal(
        sumOf(after, 'vigil_http_refused_requests_total', { code }),
        sumOf(s, 'vigil_http_refused_requests_total', { code }) + 1,
      );
      assert.ok(after.some((x) => x.name === 'vigil_process_resident_memory_bytes'));
    });

    test('live-feed WebSockets are counted while open', { skip }, async () => {
      const socket = new WebSocket(hub.url.replace(/^http/, 'ws') + '/api/v1/live', {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      // The hub greets an admitted socket with `hello`.
      await new Promise<void>((resolve, reject) => {
        socket.once('message', () => resolve());
        socket.once('error', reject);
      });
      try {
        assert.equal(sumOf(await samples(hub), 'vigil_live_clients'), 1);
      } finally {
        const closed = new Promise((resolve) => socket.once('close', resolve));
        socket.close();
        await closed;
      }
      for (let i = 0; i < 50 && sumOf(await samples(hub), 'vigil_live_clients') !== 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(sumOf(await samples(hub), 'vigil_live_clients'), 0);
    });

    test('rows purged and rolled up are counted', { skip }, async () => {
      await hub.rollups.runOnce();
      (hub.clock as ManualClock).advance(3 * 60_000);
      await hub.rollups.runOnce();
      const purged = await hub.retention.runOnce();
      const s = await samples(hub);
      assert.ok(sumOf(s, 'vigil_rollup_hour_rows_total', { series: 'agent' }) >= 1, 'the heartbeats minute was rolled into its hour');
      const deleted = Object.values(purged.deleted).reduce((n, d) => n + (d ?? 0), 0);
      assert.equal(sumOf(s, 'vigil_retention_purged_rows_total'), deleted);
    });
  });

  describe(`Prometheus switches on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;

    test('--metrics-per-agent false leaves out every per-agent series; pools and models remain', { skip }, async () => {
      const hub = await startTestHub(dialect, { flags: ['--host-metrics-interval', '0', '--metrics-per-agent', 'false'] });
      try {
        await seedFleet(hub);
        const s = await samples(hub);
        assert.deepEqual(
          s.filter((x) => 'agent_id' in x.labels || x.name.startsWith('vigil_agent_')),
          [],
        );
        assert.equal(sumOf(s, 'vigil_agents'), 3);
        assert.equal(round6(sumOf(s, 'vigil_llm_cost_usd_total', { pool: 'coding', model: 'sonnet' })), 0.0134);
        assert.equal(sumOf(s, 'vigil_llm_calls_total', { pool: 'research' }), 1);
        assert.equal(sumOf(s, 'vigil_unresolved_errors', { pool: 'coding' }), 2);
      } finally {
        await hub.close();
      }
    });

    test('--metrics-public true serves /metrics without a key', { skip }, async () => {
      const hub = await startTestHub(dialect, { flags: ['--host-metrics-interval', '0', '--metrics-public', 'true'] });
      try {
        const r = await scrape(hub, null);
        assert.equal(r.status, 200);
        assert.match(r.text, /^# HELP /m);
      } finally {
        await hub.close();
      }
    });
  });
}
