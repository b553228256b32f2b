import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { MAX_RESOURCE_FIELDS } from '@vigil/protocol';
import WebSocket from 'ws';
import { ManualClock } from '../src/clock.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

// Heartbeats complete the agent's resources rather than replace them, and the capacity query asks
// for VRAM on one GPU (checks in the manner of docs/reliability.md on both databases, over real HTTP).

const GB = 1;
/** A two-GPU box as the collector reports it: 41 GB free on GPU 0, 80 GB free on GPU 1. */
const twoGpus = (free0: number, free1: number) => ({
  gpu_type: 'nvidia',
  gpu_vram_total_gb: 160 * GB,
  gpu_vram_available_gb: free0 + free1,
  gpus: [
    {
      index: 0,
      uuid: 'GPU-0a1b',
      bus_id: '00000000:17:00.0',
      name: 'NVIDIA H100',
      vram_total_gb: 80,
      vram_used_gb: 80 - free0,
      vram_free_gb: free0,
    },
    {
      index: 1,
      uuid: 'GPU-1c2d',
      bus_id: '00000000:65:00.0',
      name: 'NVIDIA H100',
      vram_total_gb: 80,
      vram_used_gb: 80 - free1,
      vram_free_gb: free1,
    },
  ],
});

for (const dialect of DIALECTS) {
  describe(`heartbeat resources and per-GPU capacity on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    let hub: TestHub;
    const clock = new ManualClock(Date.now() - 3_600_000);
    before(async () => {
      if (!skip) hub = await startTestHub(dialect, { clock });
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    const register = async (id: string, pool = 'default') => {
      const r = await hub.call('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 'worker', pool_name: pool });
      assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
    };
    const beat = async (id: string, resources: unknown, extra: Record<string, unknown> = {}) => {
      const r = await hub.call('POST', `/api/v1/agents/${id}/heartbeat`, { resources, ...extra });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const agent = async (id: string) => (await hub.call('GET', `/api/v1/agents/${id}`)).body.agent;
    const capacity = async (query: string) => {
      const r = await hub.call('GET', `/api/v1/capacity?${query}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.agents as { agent_id: string; fitting_gpus?: { index: number; uuid?: string }[] | null }[];
    };

    test('a heartbeat that leaves a field out keeps its last value and age; null clears it', { skip }, async () => {
      await register('merge-1', 'merge');
      const t0 = clock.now();
      await beat('merge-1', { cpu_percent: 10, memory_available_gb: 12, cpu_cores_available: 6, ...twoGpus(41, 80) });
      clock.advance(30_000);
      await beat('merge-1', { cpu_percent: 20 });

      let a = await agent('merge-1');
      assert.equal(a.resource_metrics.cpu_percent, 20);
      assert.equal(a.resource_metrics.memory_available_gb, 12, 'not erased by a heartbeat without it');
      assert.equal(a.resource_metrics.gpus.length, 2);
      assert.equal(a.resource_updated_at.cpu_percent, t0 + 30_000);
      assert.equal(a.resource_updated_at.memory_available_gb, t0, 'its age is the age of the heartbeat that sent it');
      assert.equal(a.resource_metrics._updated_at, undefined, 'the bookkeeping is not a resource');
      // The copied columns the capacity query reads are kept too.
      assert.deepEqual(
        (await capacity('pool=merge&min_memory_gb=10&min_gpu_vram_gb=40&min_cpu_cores=5')).map((x) => x.agent_id),
        ['merge-1'],
      );

      clock.advance(1000);
      await beat('merge-1', { memory_available_gb: null, gpus: null, gpu_vram_available_gb: null });
      a = await agent('merge-1');
      assert.equal('memory_available_gb' in a.resource_metrics, false);
      assert.equal('gpus' in a.resource_metrics, false);
      assert.equal('memory_available_gb' in a.resource_updated_at, false);
      assert.equal(a.resource_metrics.cpu_percent, 20);
      assert.equal(a.resource_metrics.gpu_vram_total_gb, 160);
      assert.deepEqual(await capacity('pool=merge&min_memory_gb=1'), [], 'a cleared field no longer matches');
      assert.deepEqual(await capacity('pool=merge&min_gpu_vram_gb=1'), []);
      assert.deepEqual(
        (await capacity('pool=merge&min_cpu_cores=5')).map((x) => x.agent_id),
        ['merge-1'],
      );

      // The raw samples stay as sent: the merge is the agent row's, not history's.
      const metrics = await hub.call(
        'GET',
        `/api/v1/agents/merge-1/metrics?since=${t0 - 1}&until=${clock.now() + 1}&fields=memory_available_gb`,
      );
      assert.deepEqual(
        metrics.body.points.map((p: { memory_available_gb: { last: number } | null }) => p.memory_available_gb?.last ?? null),
        [12, null, null],
      );
    });

    test('unknown resource fields and other GPU vendors are kept, within limits', { skip }, async () => {
      await register('open-1');
      // `constructor` is a field name like any other: kept as data, never as the object's prototype.
      await beat('open-1', { gpu_type: 'apple', npu_tops: 38, metal_family: 'apple9', unified_memory: true, constructor: 2 });
      await beat('open-1', { cpu_percent: 5 });
      const a = await agent('open-1');
      assert.deepEqual(
        { ...a.resource_metrics },
        { gpu_type: 'apple', npu_tops: 38, metal_family: 'apple9', unified_memory: true, constructor: 2, cpu_percent: 5 },
      );
      assert.equal((await capacity('gpu_type=apple')).length, 1);

      const refused: [unknown, RegExp][] = [
        [
          Object.fromEntries(Array.from({ length: MAX_RESOURCE_FIELDS + 1 }, (_, i) => [`f${i}`, i])),
          /must NOT have more than 48 properties/,
        ],
        [{ 'Bad-Name': 1 }, /body\.resources has field name "Bad-Name", which must match/],
        [{ _updated_at: { cpu_percent: 0 } }, /body\.resources has field name "_updated_at"/],
        [{ nested: { a: 1 } }, /body\.resources\.nested must be/],
        [{ label: 'x'.repeat(257) }, /body\.resources\.label must/],
        [{ gpu_type: 'Not A Vendor' }, /body\.resources\.gpu_type must/],
        [
          { gpus: Array.from({ length: 65 }, (_, i) => ({ index: i, vram_total_gb: 1, vram_used_gb: 0, vram_free_gb: 1 })) },
          /body\.resources\.gpus must/,
        ],
        [
          { gpus: [{ index: 0, vram_total_gb: 1, vram_used_gb: 0, vram_free_gb: 1, name: 'n'.repeat(129) }] },
          /body\.resources\.gpus\.0\.name must/,
        ],
        [{ gpus: [{ index: 0, vram_total_gb: 1, vram_used_gb: 0, vram_free_gb: 1, fan: 3 }] }, /body\.resources\.gpus\.0/],
      ];
      for (const [resources, message] of refused) {
        const r = await hub.call('POST', '/api/v1/agents/open-1/heartbeat', { resources });
        assert.equal(r.status, 400, JSON.stringify(resources).slice(0, 80));
        assert.equal(r.body.error.code, 'VIGIL_VALIDATION');
        assert.match(r.body.error.message, message);
      }
      const big = await hub.call('POST', '/api/v1/agents/open-1/heartbeat', `{"resources":{"label":"${'x'.repeat(1_100_000)}"}}`);
      assert.equal(big.status, 413);
      assert.equal(big.body.error.code, 'VIGIL_BODY_TOO_LARGE');
      assert.deepEqual({ ...(await agent('open-1')).resource_metrics }, { ...a.resource_metrics }, 'a refused heartbeat changes nothing');
    });

    test('unknown fields from many heartbeats add up to at most the limit; the least recent go first', { skip }, async () => {
      await register('many-1');
      await beat('many-1', { cpu_percent: 1, memory_percent: 2 });
      for (let round = 0; round < 3; round++) {
        clock.advance(1000);
        const fields = Array.from({ length: 30 }, (_, i) => [i === 0 && round === 0 ? 'constructor' : `r${round}_f${i}`, i]);
        await beat('many-1', Object.fromEntries(fields));
      }
      const a = await agent('many-1');
      const fields = Object.keys(a.resource_metrics);
      assert.equal(fields.length, MAX_RESOURCE_FIELDS);
      assert.ok(fields.includes('cpu_percent') && fields.includes('memory_percent'), 'known fields are never dropped');
      assert.equal(fields.filter((f) => f.startsWith('r2_')).length, 30, 'the latest heartbeat is whole');
      assert.equal(fields.filter((f) => f.startsWith('r0_') || f === 'constructor').length, 0, 'the oldest unknown fields went first');
      assert.equal(Object.keys(a.resource_updated_at).length, MAX_RESOURCE_FIELDS);
    });

    test('batched ingest merges the same way', { skip }, async () => {
      await register('batch-1');
      const r = await hub.call('POST', '/api/v1/ingest', {
        heartbeats: [
          { agent_id: 'batch-1', resources: { cpu_percent: 3, memory_available_gb: 9 } },
          { agent_id: 'batch-1', resources: { cpu_percent: 4 } },
        ],
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const a = await agent('batch-1');
      assert.equal(a.resource_metrics.memory_available_gb, 9);
      assert.equal(a.resource_metrics.cpu_percent, 4);
    });

    test('the live feed announces the merged resources and their receive times', { skip }, async () => {
      await register('live-merge');
      const socket = new WebSocket(hub.url.replace(/^http/, 'ws') + '/api/v1/live', {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      });
      const updates: Record<string, any>[] = [];
      socket.on('message', (data) => {
        // A frame is one message or, since the feed coalesces per tick, an array of them.
        const frame = JSON.parse(String(data)) as Record<string, any> | Record<string, any>[];
        for (const m of Array.isArray(frame) ? frame : [frame]) {
          if (m.type === 'metrics_update' && m.agent_id === 'live-merge') updates.push(m);
        }
      });
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      try {
        const t0 = clock.now();
        await beat('live-merge', { cpu_percent: 7, memory_available_gb: 3 });
        clock.advance(5000);
        await beat('live-merge', { cpu_percent: 8 });
        const deadline = Date.now() + 10_000;
        while (updates.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.equal(updates.length, 2);
        assert.deepEqual(updates[1]?.resources, { cpu_percent: 8, memory_available_gb: 3 });
        assert.deepEqual(updates[1]?.resource_updated_at, { cpu_percent: t0 + 5000, memory_available_gb: t0 });
      } finally {
        socket.close();
      }
    });

    test('min_gpu_vram_gb is free VRAM on one GPU; gpu_count asks for several; answers name the GPUs', { skip }, async () => {
      await register('box-2gpu', 'gpu');
      await beat('box-2gpu', { cpu_cores_available: 8, ...twoGpus(41, 80) });

      assert.deepEqual(await capacity('pool=gpu&min_gpu_vram_gb=100'), [], '121 GB free in all, but no single GPU has 100');
      const fits50 = await capacity('pool=gpu&min_gpu_vram_gb=50');
      assert.deepEqual(
        fits50.map((x) => [x.agent_id, x.fitting_gpus?.map((g) => [g.index, g.uuid])]),
        [['box-2gpu', [[1, 'GPU-1c2d']]]],
      );
      const fits40 = await capacity('pool=gpu&min_gpu_vram_gb=40');
      assert.deepEqual(
        fits40[0]?.fitting_gpus?.map((g) => g.index),
        [0, 1],
        'the tightest fit first',
      );
      assert.deepEqual(
        (await capacity('pool=gpu&min_gpu_vram_gb=40&gpu_count=2')).map((x) => x.agent_id),
        ['box-2gpu'],
      );
      assert.deepEqual(await capacity('pool=gpu&min_gpu_vram_gb=50&gpu_count=2'), []);
      assert.deepEqual(await capacity('pool=gpu&gpu_count=3'), []);
      assert.equal((await capacity('pool=gpu&gpu_count=2')).length, 1);

      // An agent without a `gpus` array is judged by its scalar, as one GPU.
      await register('box-scalar', 'gpu');
      await beat('box-scalar', { gpu_type: 'nvidia', gpu_vram_total_gb: 24, gpu_vram_available_gb: 60 });
      const scalar = await capacity('pool=gpu&min_gpu_vram_gb=55');
      assert.deepEqual(
        scalar.map((x) => [x.agent_id, x.fitting_gpus]),
        [
          ['box-scalar', null],
          ['box-2gpu', [{ index: 1, uuid: 'GPU-1c2d', bus_id: '00000000:65:00.0', name: 'NVIDIA H100', vram_free_gb: 80 }]],
        ],
      );
      assert.deepEqual(
        (await capacity('pool=gpu&min_gpu_vram_gb=30&gpu_count=2')).map((x) => x.agent_id),
        ['box-2gpu'],
        'a scalar is one GPU',
      );

      // The answer follows the latest figures: GPU 1 filled up.
      await beat('box-2gpu', twoGpus(41, 2));
      assert.deepEqual(
        (await capacity('pool=gpu&min_gpu_vram_gb=50')).map((x) => x.agent_id),
        ['box-scalar'],
      );
      const bad = await hub.call('GET', '/api/v1/capacity?gpu_count=0');
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error.code, 'VIGIL_VALIDATION');
    });
  });
}
