import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

// Capacity claims (docs/capacity.md) over real HTTP on both databases: a claim reserves what it asked
// for, the capacity query subtracts active claims, leases end by release or by time, and concurrent
// claims (through two hubs on one PostgreSQL) never hand out the same cores, memory or GPU VRAM.

const gpus = (free: number[]) => ({
  gpu_type: 'nvidia',
  gpu_vram_total_gb: 80 * free.length,
  gpu_vram_available_gb: free.reduce((a, b) => a + b, 0),
  gpus: free.map((f, index) => ({
    index,
    uuid: `GPU-${index}`,
    name: 'NVIDIA H100',
    vram_total_gb: 80,
    vram_used_gb: 80 - f,
    vram_free_gb: f,
  })),
});

async function register(hub: TestHub, id: string, resources: Record<string, unknown>, pool = 'default'): Promise<void> {
  const r = await hub.call('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 'worker', pool_name: pool });
  assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.body));
  const b = await hub.call('POST', `/api/v1/agents/${id}/heartbeat`, { resources });
  assert.equal(b.status, 200, JSON.stringify(b.body));
}

/** Sums what the claims hold per agent and per GPU and checks none exceeds what the agent measured. */
function assertNoOverbooking(claims: any[], cores: Map<string, number>, gpuFree: number): void {
  const heldCores = new Map<string, number>();
  const heldGpu = new Map<string, number>();
  for (const c of claims) {
    heldCores.set(c.agent_id, (heldCores.get(c.agent_id) ?? 0) + c.cpu_cores);
    for (const g of c.gpus ?? []) heldGpu.set(`${c.agent_id}/${g.index}`, (heldGpu.get(`${c.agent_id}/${g.index}`) ?? 0) + c.gpu_vram_gb);
  }
  for (const [agent, held] of heldCores)
    assert.ok(held <= (cores.get(agent) ?? 0), `${agent}: ${held} cores claimed of ${cores.get(agent)}`);
  for (const [gpu, held] of heldGpu) assert.ok(held <= gpuFree, `${gpu}: ${held} GB claimed of ${gpuFree}`);
}

for (const dialect of DIALECTS) {
  describe(`capacity claims on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    let hub: TestHub;
    const clock = new ManualClock(Date.now() - 3_600_000);
    before(async () => {
      if (skip) return;
      hub = await startTestHub(dialect, { clock });
      await register(hub, 'cpu-box', { cpu_cores_available: 8, memory_available_gb: 32 });
      await register(hub, 'gpu-box', { cpu_cores_available: 16, memory_available_gb: 64, ...gpus([40, 80]) }, 'gpu');
      await register(hub, 'scalar-box', { cpu_cores_available: 4, gpu_type: 'nvidia', gpu_vram_available_gb: 24 }, 'gpu');
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    test('a claim reserves what it asked for; the capacity query subtracts it', { skip }, async () => {
      const c = await hub.call('POST', '/api/v1/capacity/claim', {
        min_cpu_cores: 6,
        min_memory_gb: 20,
        pool: 'default',
        job: 'train-1',
        lease_seconds: 60,
      });
      assert.equal(c.status, 201, JSON.stringify(c.body));
      assert.equal(c.body.agent_id, 'cpu-box');
      assert.equal(c.body.status, 'active');
      assert.equal(c.body.cpu_cores, 6);
      assert.equal(c.body.memory_gb, 20);
      assert.equal(c.body.gpus, null);
      assert.equal(c.body.job, 'train-1');
      assert.equal(c.body.expires_at - c.body.created_at, 60_000);

      // 8 - 6 = 2 cores left: a second job of 6 does not fit, one of 2 does.
      const q = await hub.call('GET', '/api/v1/capacity?pool=default&min_cpu_cores=6');
      assert.deepEqual(q.body.agents, []);
      const small = await hub.call('GET', '/api/v1/capacity?pool=default&min_cpu_cores=2');
      assert.deepEqual(
        small.body.agents.map((a: any) => [a.agent_id, a.reserved]),
        [['cpu-box', { claims: 1, cpu_cores: 6, memory_gb: 20, gpu_vram_gb: 0 }]],
      );
      const none = await hub.call('POST', '/api/v1/capacity/claim', { min_cpu_cores: 6, pool: 'default', job: 'train-2' });
      assert.equal(none.status, 409);
      assert.equal(none.body.error.code, 'VIGIL_NO_CAPACITY');

      // Released: the capacity is back, and releasing again answers the claim as it is.
      const rel = await hub.call('POST', `/api/v1/capacity/claims/${c.body.claim_id}/release`);
      assert.equal(rel.status, 200, JSON.stringify(rel.body));
      assert.equal(rel.body.status, 'released');
      const again = await hub.call('POST', `/api/v1/capacity/claims/${c.body.claim_id}/release`);
      assert.equal(again.body.status, 'released');
      assert.equal(again.body.released_at, rel.body.released_at);
      assert.equal((await hub.call('GET', '/api/v1/capacity?pool=default&min_cpu_cores=6')).body.agents.length, 1);
      const renewEnded = await hub.call('POST', `/api/v1/capacity/claims/${c.body.claim_id}/renew`, { lease_seconds: 60 });
      assert.equal(renewEnded.status, 409);
      assert.equal(renewEnded.body.error.code, 'VIGIL_CLAIM_ENDED');
    });

    test('claims pick GPUs by their unclaimed VRAM, tightest fit first', { skip }, async () => {
      const first = await hub.call('POST', '/api/v1/capacity/claim', { min_gpu_vram_gb: 30, pool: 'gpu', job: 'a' });
      assert.equal(first.status, 201, JSON.stringify(first.body));
      // The scalar box (24 GB as one GPU) is too small; GPU 0 of gpu-box (40 free) is the tightest fit.
      assert.equal(first.body.agent_id, 'gpu-box');
      assert.deepEqual(first.body.gpus, [{ index: 0, uuid: 'GPU-0' }]);
      const second = await hub.call('POST', '/api/v1/capacity/claim', { min_gpu_vram_gb: 30, pool: 'gpu', job: 'b' });
      assert.deepEqual(second.body.gpus, [{ index: 1, uuid: 'GPU-1' }], 'GPU 0 has 10 GB unclaimed now');
      const third = await hub.call('POST', '/api/v1/capacity/claim', { min_gpu_vram_gb: 30, pool: 'gpu', job: 'c' });
      assert.deepEqual(third.body.gpus, [{ index: 1, uuid: 'GPU-1' }], 'GPU 1 had 80, 50 unclaimed');
      const fourth = await hub.call('POST', '/api/v1/capacity/claim', { min_gpu_vram_gb: 30, pool: 'gpu', job: 'd' });
      assert.equal(fourth.body.error?.code, 'VIGIL_NO_CAPACITY');
      const q = await hub.call('GET', '/api/v1/capacity?pool=gpu&min_gpu_vram_gb=10');
      const box = q.body.agents.find((a: any) => a.agent_id === 'gpu-box');
      assert.deepEqual(
        box.fitting_gpus.map((g: any) => [g.index, g.vram_free_gb]),
        [
          [0, 10],
          [1, 20],
        ],
      );
      // Agents are ordered by their unclaimed VRAM in all (the scalar box's 24 before gpu-box's 30); the
      // scalar box is one GPU, so a claim of 20 fits it once, and then GPU 1 of gpu-box (20 unclaimed).
      const s = await hub.call('POST', '/api/v1/capacity/claim', { min_gpu_vram_gb: 20, pool: 'gpu', job: 's' });
      assert.equal(s.body.agent_id, 'scalar-box');
      assert.equal(s.body.gpus, null);
      const s2 = await hub.call('POST', '/api/v1/capacity/claim', { min_gpu_vram_gb: 20, pool: 'gpu', job: 's2' });
      assert.equal(s2.body.agent_id, 'gpu-box');
      assert.deepEqual(s2.body.gpus, [{ index: 1, uuid: 'GPU-1' }]);
      const s3 = await hub.call('POST', '/api/v1/capacity/claim', { min_gpu_vram_gb: 20, pool: 'gpu', job: 's3' });
      assert.equal(s3.body.error?.code, 'VIGIL_NO_CAPACITY');

      const listed = await hub.call('GET', '/api/v1/capacity/claims?pool=gpu');
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body.claims.map((c: any) => c.job).sort(), ['a', 'b', 'c', 's', 's2']);
      for (const c of listed.body.claims) await hub.call('POST', `/api/v1/capacity/claims/${c.claim_id}/release`);
      assert.deepEqual((await hub.call('GET', '/api/v1/capacity/claims?pool=gpu')).body.claims, []);
      assert.equal((await hub.call('GET', '/api/v1/capacity/claims?pool=gpu&status=released')).body.claims.length, 5);
    });

    test('a lease ends by itself, and renewing keeps it', { skip }, async () => {
      const c = await hub.call('POST', '/api/v1/capacity/claim', { min_cpu_cores: 8, pool: 'default', job: 'lease', lease_seconds: 30 });
      assert.equal(c.status, 201);
      clock.advance(20_000);
      const renewed = await hub.call('POST', `/api/v1/capacity/claims/${c.body.claim_id}/renew`, { lease_seconds: 30 });
      assert.equal(renewed.status, 200, JSON.stringify(renewed.body));
      assert.equal(renewed.body.expires_at, clock.now() + 30_000);
      clock.advance(20_000);
      assert.equal((await hub.call('GET', '/api/v1/capacity?pool=default&min_cpu_cores=8')).body.agents.length, 0, 'renewed: still held');
      clock.advance(11_000);
      assert.equal((await hub.call('GET', '/api/v1/capacity?pool=default&min_cpu_cores=8')).body.agents.length, 1, 'expired: free again');
      const got = await hub.call('GET', `/api/v1/capacity/claims/${c.body.claim_id}`);
      assert.equal(got.body.status, 'expired');
      const late = await hub.call('POST', `/api/v1/capacity/claims/${c.body.claim_id}/renew`);
      assert.equal(late.body.error.code, 'VIGIL_CLAIM_ENDED');
      const missing = await hub.call('POST', '/api/v1/capacity/claims/00000000-0000-0000-0000-000000000000/release');
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error.code, 'VIGIL_CLAIM_NOT_FOUND');
    });

    test('a pool key claims inside its pool only; an agent key claims nothing', { skip }, async () => {
      const poolKey = (await hub.call('POST', '/api/v1/keys', { pool_name: 'default' })).body.key as string;
      const agentKey = (await hub.call('POST', '/api/v1/keys', { agent_id: 'cpu-box' })).body.key as string;
      const other = await hub.call('POST', '/api/v1/capacity/claim', { min_cpu_cores: 1, pool: 'gpu', job: 'x' }, poolKey);
      assert.equal(other.status, 403);
      const own = await hub.call('POST', '/api/v1/capacity/claim', { min_cpu_cores: 1, job: 'x' }, poolKey);
      assert.equal(own.status, 201, JSON.stringify(own.body));
      assert.equal(own.body.pool_name, 'default');
      assert.equal(own.body.claimed_by, 'pool:default');
      const gpuClaim = await hub.call('POST', '/api/v1/capacity/claim', { min_cpu_cores: 1, pool: 'gpu', job: 'y' });
      const hidden = await hub.call('POST', `/api/v1/capacity/claims/${gpuClaim.body.claim_id}/release`, undefined, poolKey);
      assert.equal(hidden.status, 404, "another pool's claim is not there for a pool key");
      assert.equal((await hub.call('POST', '/api/v1/capacity/claim', { min_cpu_cores: 1, job: 'z' }, agentKey)).status, 403);
      assert.equal((await hub.call('POST', `/api/v1/capacity/claims/${own.body.claim_id}/release`, undefined, poolKey)).status, 200);
      await hub.call('POST', `/api/v1/capacity/claims/${gpuClaim.body.claim_id}/release`);
    });

    test('bad claims get clear errors', { skip }, async () => {
      const noJob = await hub.call('POST', '/api/v1/capacity/claim', { min_cpu_cores: 1 });
      assert.equal(noJob.status, 400);
      assert.equal(noJob.body.error.code, 'VIGIL_VALIDATION');
      const longLease = await hub.call('POST', '/api/v1/capacity/claim', { min_cpu_cores: 1, job: 'x', lease_seconds: 86_401 });
      assert.equal(longLease.status, 400);
      const badCursor = await hub.call('GET', '/api/v1/capacity/claims?before=zzz');
      assert.equal(badCursor.status, 400);
    });

    test(`50 concurrent claims over 20 agents on ${dialect}${dialect === 'postgres' ? ', through two hubs' : ''}`, { skip }, async () => {
      const a = await startTestHub(dialect);
      // Two hubs on one PostgreSQL: the second shares the first's database.
      const b = dialect === 'postgres' ? await startTestHub(dialect, { target: a.target }) : a;
      try {
        const cores = new Map<string, number>();
        for (let i = 0; i < 20; i++) {
          const id = `node-${String(i).padStart(2, '0')}`;
          cores.set(id, 4);
          await register(a, id, { cpu_cores_available: 4, memory_available_gb: 16, ...gpus([24, 24]) });
        }
        // Each claim takes 3 of an agent's 4 cores and 16 GB on one GPU: at most one claim per agent fits,
        // so of 50 claims exactly 20 succeed, whatever the interleaving.
        const answers = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            (i % 2 ? b : a).call('POST', '/api/v1/capacity/claim', {
              min_cpu_cores: 3,
              min_gpu_vram_gb: 16,
              job: `job-${i}`,
              lease_seconds: 300,
            }),
          ),
        );
        const granted = answers.filter((r) => r.status === 201).map((r) => r.body);
        const refused = answers.filter((r) => r.status === 409);
        assert.equal(granted.length + refused.length, 50, JSON.stringify(answers.find((r) => r.status !== 201 && r.status !== 409)?.body));
        assert.ok(refused.every((r) => r.body.error.code === 'VIGIL_NO_CAPACITY'));
        assert.equal(granted.length, 20, 'every agent holds exactly one claim');
        assertNoOverbooking(granted, cores, 24);
        assert.equal(new Set(granted.map((c) => c.agent_id)).size, 20);

        // Released leases free their agents for the next round.
        await Promise.all(granted.slice(0, 5).map((c) => b.call('POST', `/api/v1/capacity/claims/${c.claim_id}/release`)));
        const next = await Promise.all(
          Array.from({ length: 10 }, (_, i) => a.call('POST', '/api/v1/capacity/claim', { min_cpu_cores: 3, job: `next-${i}` })),
        );
        assert.equal(next.filter((r) => r.status === 201).length, 5);
        const active = (await a.call('GET', '/api/v1/capacity/claims?limit=500')).body.claims;
        assert.equal(active.length, 20);
        assertNoOverbooking(active, cores, 24);
      } finally {
        if (b !== a) await b.close();
        await a.close();
      }
    });
  });
}
