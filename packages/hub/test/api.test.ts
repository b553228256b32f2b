import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

const gpuResources = {
  cpu_percent: 35.5,
  cpu_cores_physical: 16,
  cpu_cores_available: 10,
  cpu_load_1min: 2.5,
  cpu_load_5min: 2.1,
  memory_percent: 40,
  memory_available_gb: 48,
  gpu_vram_total_gb: 24,
  gpu_vram_available_gb: 20,
  gpu_type: 'nvidia',
};

for (const dialect of DIALECTS) {
  describe(`API over HTTP on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    let hub: TestHub;
    before(async () => {
      if (!skip) hub = await startTestHub(dialect);
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    test('registers an agent, generating an id when none is given', { skip }, async () => {
      const r = await hub.call('POST', '/api/v1/agents', {
        name: 'worker',
        agent_type: 'llm-worker',
        pool_name: 'gpu',
        capabilities: ['cuda'],
      });
      assert.equal(r.status, 201);
      assert.match(r.body.agent.agent_id, /^[0-9a-f-]{36}$/);
      assert.equal(r.body.agent.status, 'online');
      assert.deepEqual(r.body.agent.capabilities, ['cuda']);

      const again = await hub.call('POST', '/api/v1/agents', {
        agent_id: r.body.agent.agent_id,
        name: 'worker-renamed',
        agent_type: 'llm-worker',
      });
      assert.equal(again.status, 200);
      assert.equal(again.body.created, false);
      assert.equal(again.body.agent.name, 'worker-renamed');
    });

    test('a heartbeat updates the agent and appends a metrics row holding resources and metrics', { skip }, async () => {
      await hub.call('POST', '/api/v1/agents', { agent_id: 'hb-1', name: 'hb', agent_type: 'claude-code', pool_name: 'gpu' });
      const hb = await hub.call('POST', '/api/v1/agents/hb-1/heartbeat', {
        status: 'busy',
        resources: gpuResources,
        metrics: { memory_mb: 512, message_count: 7, cpu_percent: 12.5, io_read_bps: 100, io_write_bps: 200 },
      });
      assert.equal(hb.status, 200);
      assert.equal(hb.body.status, 'busy');

      const a = await hub.call('GET', '/api/v1/agents/hb-1');
      assert.equal(a.status, 200);
      assert.deepEqual(a.body.agent.resource_metrics, gpuResources);
      assert.equal(a.body.agent.status, 'busy');
      assert.equal(a.body.agent.memory_mb, 512);
      assert.equal(a.body.agent.last_heartbeat_at, hb.body.received_at);

      const view = await hub.call('GET', '/api/monitoring/agents/hb-1');
      assert.equal(view.status, 200);
      assert.equal(view.body.agentId, 'hb-1');
      assert.equal(view.body.metrics.length, 1);
      const m = view.body.metrics[0];
      assert.equal(m.memory_mb, 512);
      assert.equal(m.message_count, 7);
      assert.equal(m.cpu_percent, 12.5);
      assert.equal(m.host_cpu_percent, 35.5);
      assert.equal(m.gpu_vram_available_gb, 20);
      assert.equal(m.io_write_bps, 200);
    });

    test('a heartbeat retried with the same event_id is stored once', { skip }, async () => {
      await hub.call('POST', '/api/v1/agents', { agent_id: 'dup-1', name: 'dup', agent_type: 'x' });
      const body = { status: 'online', resources: { cpu_percent: 5 }, event_id: 'hb-0001' };
      const first = await hub.call('POST', '/api/v1/agents/dup-1/heartbeat', body);
      const second = await hub.call('POST', '/api/v1/agents/dup-1/heartbeat', body);
      assert.equal(first.body.duplicate, false);
      assert.equal(second.body.duplicate, true);
      const view = await hub.call('GET', '/api/monitoring/agents/dup-1');
      assert.equal(view.body.metrics.length, 1);
    });

    test('lists agents with filters and keyset paging', { skip }, async () => {
      for (let i = 0; i < 5; i++) {
        await hub.call('POST', '/api/v1/agents', { agent_id: `page-${i}`, name: `p${i}`, agent_type: 'pager', pool_name: 'paging' });
      }
      const first = await hub.call('GET', '/api/v1/agents?pool=paging&limit=2');
      assert.deepEqual(
        first.body.agents.map((a: { agent_id: string }) => a.agent_id),
        ['page-0', 'page-1'],
      );
      assert.equal(first.body.next_cursor, 'page-1');
      const second = await hub.call('GET', `/api/v1/agents?pool=paging&limit=2&after=${first.body.next_cursor}`);
      assert.deepEqual(
        second.body.agents.map((a: { agent_id: string }) => a.agent_id),
        ['page-2', 'page-3'],
      );
      const byType = await hub.call('GET', '/api/v1/agents?type=pager&status=online&limit=500');
      assert.equal(byType.body.agents.length, 5);
      const none = await hub.call('GET', '/api/v1/agents?type=pager&status=offline');
      assert.equal(none.body.agents.length, 0);
    });

    test('capacity returns online agents that fit, best fit first', { skip }, async () => {
      const fleet = [
        { id: 'cap-big', vram: 70, cores: 30 },
        { id: 'cap-fit', vram: 17, cores: 5 },
        { id: 'cap-small', vram: 8, cores: 12 },
      ];
      for (const f of fleet) {
        await hub.call('POST', '/api/v1/agents', {
          agent_id: f.id,
          name: f.id,
          agent_type: 'gpu-worker',
          pool_name: 'cap',
          capabilities: ['cuda'],
        });
        await hub.call('POST', `/api/v1/agents/${f.id}/heartbeat`, {
          status: 'online',
          resources: { ...gpuResources, gpu_vram_available_gb: f.vram, cpu_cores_available: f.cores },
        });
      }
      const r = await hub.call('GET', '/api/v1/capacity?min_gpu_vram_gb=16&min_cpu_cores=4&pool=cap&capability=cuda&gpu_type=nvidia');
      assert.equal(r.status, 200);
      assert.deepEqual(
        r.body.agents.map((a: { agent_id: string }) => a.agent_id),
        ['cap-fit', 'cap-big'],
      );
      const none = await hub.call('GET', '/api/v1/capacity?min_gpu_vram_gb=100&pool=cap');
      assert.deepEqual(none.body.agents, []);
    });

    test('events are stored, listed newest first, and deduplicated by event_id', { skip }, async () => {
      await hub.call('POST', '/api/v1/agents', { agent_id: 'ev-1', name: 'ev', agent_type: 'x' });
      const a = await hub.call('POST', '/api/v1/agents/ev-1/events', { event_type: 'info', message: 'hello', event_id: 'e-1' });
      const b = await hub.call('POST', '/api/v1/agents/ev-1/events', { event_type: 'info', message: 'hello', event_id: 'e-1' });
      assert.equal(a.status, 201);
      assert.equal(b.status, 200);
      assert.equal(b.body.duplicate, true);
      assert.equal(b.body.id, a.body.id);
      await hub.call('POST', '/api/v1/agents/ev-1/events', { event_type: 'warning', message: 'careful' });
      const list = await hub.call('GET', '/api/v1/events?agent_id=ev-1');
      assert.deepEqual(
        list.body.events.map((e: { event_type: string }) => e.event_type),
        ['warning', 'info', 'registered'],
      );
      const warnings = await hub.call('GET', '/api/v1/events?agent_id=ev-1&event_type=warning');
      assert.equal(warnings.body.events.length, 1);
    });

    test('a stopped event takes the agent offline at once, as a planned stop', { skip }, async () => {
      await hub.call('POST', '/api/v1/agents', { agent_id: 'stop-1', name: 'stopper', agent_type: 'x' });
      await hub.call('POST', '/api/v1/agents/stop-1/events', { event_type: 'stopped', message: 'bye' });
      const a = await hub.call('GET', '/api/v1/agents/stop-1');
      assert.equal(a.body.agent.status, 'offline');
      assert.equal(a.body.agent.offline_reason, 'stopped');
    });

    test('repeated errors group by fingerprint and count up; resolving starts a new group', { skip }, async () => {
      await hub.call('POST', '/api/v1/agents', { agent_id: 'err-1', name: 'err', agent_type: 'x' });
      const stack = 'Error: timeout\n    at fetchModel (/app/src/llm.js:42:7)\n    at main (/app/src/index.js:3:1)';
      const ids: number[] = [];
      for (const ms of [1500, 2300, 9100]) {
        const r = await hub.call('POST', '/api/v1/agents/err-1/errors', {
          error_type: 'TimeoutError',
          message: `timed out after ${ms} ms`,
          stack_trace: stack,
        });
        assert.equal(r.status, 201);
        ids.push(r.body.id);
      }
      assert.equal(new Set(ids).size, 1, 'messages differing only in numbers are one group');
      const other = await hub.call('POST', '/api/v1/agents/err-1/errors', { error_type: 'TypeError', message: 'x is undefined' });
      assert.notEqual(other.body.id, ids[0]);

      const list = await hub.call('GET', '/api/v1/errors?agent_id=err-1&resolved=false');
      const group = list.body.errors.find((e: { id: number }) => e.id === ids[0]);
      assert.equal(group.occurrences, 3);

      const resolved = await hub.call('POST', `/api/v1/errors/${ids[0]}/resolve`);
      assert.equal(resolved.status, 200);
      assert.equal(resolved.body.error.resolved, true);
      const again = await hub.call('POST', `/api/v1/errors/${ids[0]}/resolve`);
      assert.equal(again.status, 200, 'resolving twice is idempotent');

      const after = await hub.call('POST', '/api/v1/agents/err-1/errors', {
        error_type: 'TimeoutError',
        message: 'timed out after 5 ms',
        stack_trace: stack,
      });
      assert.notEqual(after.body.id, ids[0], 'a recurrence after resolve opens a new group');
      assert.equal((await hub.call('POST', '/api/v1/errors/999999/resolve')).status, 404);
    });

    test('batched ingest stores many agents in one request and reports each item', { skip }, async () => {
      for (const id of ['b-1', 'b-2']) await hub.call('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 'batch' });
      const r = await hub.call('POST', '/api/v1/ingest', {
        heartbeats: [
          { agent_id: 'b-1', status: 'online', resources: { cpu_percent: 10 }, event_id: 'bh-1' },
          { agent_id: 'b-2', status: 'busy', resources: { cpu_percent: 20 } },
          { agent_id: 'b-unknown', status: 'online' },
        ],
        events: [{ agent_id: 'b-1', event_type: 'info', message: 'batched' }],
        errors: [{ agent_id: 'b-2', error_type: 'E', message: 'batched error' }],
      });
      assert.equal(r.status, 207);
      assert.deepEqual(r.body.accepted, { heartbeats: 2, events: 1, errors: 1, traces: 0 });
      assert.equal(r.body.rejected.length, 1);
      assert.deepEqual(
        { kind: r.body.rejected[0].kind, index: r.body.rejected[0].index, code: r.body.rejected[0].code },
        { kind: 'heartbeats', index: 2, code: 'VIGIL_AGENT_NOT_FOUND' },
      );
      const retry = await hub.call('POST', '/api/v1/ingest', {
        heartbeats: [{ agent_id: 'b-1', status: 'online', resources: { cpu_percent: 10 }, event_id: 'bh-1' }],
      });
      assert.equal(retry.status, 200);
      assert.equal(retry.body.duplicates, 1);
      assert.equal((await hub.call('GET', '/api/v1/agents/b-2')).body.agent.status, 'busy');
    });

    test('the monitoring API routes answer with the shapes its dashboard reads', { skip }, async () => {
      await hub.call('POST', '/api/v1/agents', { agent_id: 'seed-1', name: 'seed', agent_type: 'x' });
      await hub.call('POST', '/api/v1/agents/seed-1/heartbeat', {
        status: 'online',
        resources: { cpu_percent: 50 },
        metrics: { memory_mb: 256, message_count: 3 },
      });
      const ev = await hub.call('POST', '/api/monitoring/agents/seed-1/events', {
        eventType: 'info',
        message: 'from seed',
        metadata: { a: 1 },
      });
      assert.equal(ev.status, 201);
      assert.equal(ev.body.success, true);
      const er = await hub.call('POST', '/api/monitoring/agents/seed-1/errors', {
        error: { name: 'RangeError', message: 'bad', stack: 'RangeError: bad\n    at f (x.js:1:1)' },
      });
      assert.equal(er.status, 201);
      assert.equal(er.body.success, true);

      const d = await hub.call('GET', '/api/monitoring/dashboard?limit=500');
      assert.equal(d.status, 200);
      const agent = d.body.agents.find((a: { agentId: string }) => a.agentId === 'seed-1');
      assert.equal(agent.status, 'online');
      assert.deepEqual(agent.metrics, { cpuPercent: 50, memoryMb: 256, messageCount: 3, errorCount: 1, status: 'online' });
      assert.ok(
        d.body.recentEvents.some((e: { message: string; event_type: string }) => e.message === 'from seed' && e.event_type === 'info'),
      );
      assert.ok(d.body.activeErrors.some((e: { agent_id: string; count: number }) => e.agent_id === 'seed-1' && e.count === 1));
      for (const k of ['cpuUsage', 'totalMemory', 'freeMemory', 'uptime']) assert.equal(typeof d.body.systemMetrics[k], 'number', k);
      assert.ok(d.body.systemMetrics.totalMemory > 0);
      assert.equal(d.body.summary.agents_total, d.body.agents.length);

      const res = await hub.call('PATCH', `/api/monitoring/errors/${er.body.id}/resolve`);
      assert.deepEqual(res.body, { success: true });
      const after = await hub.call('GET', '/api/monitoring/agents/seed-1');
      assert.equal(after.body.errors[0].resolved, true);
      assert.equal((await hub.call('PATCH', '/api/monitoring/errors/987654/resolve')).status, 404);
      assert.equal((await hub.call('GET', '/api/monitoring/agents/nobody')).status, 404);
    });

    test('health, readiness and the OpenAPI document', { skip }, async () => {
      const h = await hub.call('GET', '/healthz', undefined, null);
      assert.equal(h.status, 200);
      assert.equal(h.body.store.dialect, dialect);
      assert.equal(h.body.store.durability.level, 'full');
      const r = await hub.call('GET', '/readyz', undefined, null);
      assert.deepEqual(r.body, { ready: true });
      const doc = await hub.call('GET', '/api/v1/openapi.json', undefined, null);
      assert.equal(doc.status, 200);
      const hb = doc.body.paths['/api/v1/agents/{agentId}/heartbeat'].post;
      const schema = hb.requestBody.content['application/json'].schema;
      assert.equal(schema.properties.resources.properties.cpu_percent.maximum, 100);
    });
  });
}
