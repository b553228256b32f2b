import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { Heartbeat } from '@vigil/protocol';
import type { Command } from '../src/ingest/commands.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

/**
 * Issue 14: within a batch, one agent's heartbeats in a row read its row once and write its UPDATE
 * once (HeartbeatRuns, store/agents.ts). Any sequence of heartbeats applied as one batch must leave
 * the agent's row, and answer each heartbeat, exactly as the same heartbeats applied one batch each.
 */

const num = fc.oneof(fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true, min: 0, max: 1000 }));
const resources = fc.record(
  {
    cpu_percent: num,
    cpu_cores_available: num,
    memory_available_gb: num,
    gpu_vram_available_gb: num,
    gpu_type: fc.oneof(fc.constant(null), fc.constantFrom('nvidia', 'amd')),
    extra_label: fc.string({ maxLength: 6 }),
  },
  { requiredKeys: [] },
);
const metrics = fc.record(
  {
    memory_mb: num,
    message_count: fc.oneof(fc.constant(null), fc.nat(1_000_000)),
    cpu_percent: num,
  },
  { requiredKeys: [] },
);
const heartbeat = fc.record(
  {
    status: fc.constantFrom('online', 'busy'),
    resources,
    metrics,
    // A few ids, so some heartbeats are retries of an earlier one in the same sequence.
    event_id: fc.constantFrom('e1', 'e2', 'e3', 'e4', 'e5', 'e6'),
  },
  { requiredKeys: [] },
) as fc.Arbitrary<Heartbeat>;

const ROW =
  'status, offline_reason, last_heartbeat_at, updated_at, resource_metrics, cpu_cores_available, memory_available_gb, ' +
  'gpu_vram_available_gb, gpu_type, cpu_percent, memory_mb, message_count';

for (const dialect of DIALECTS) {
  describe(`heartbeats of one agent in one batch on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    let hub: TestHub;
    before(async () => {
      if (!skip) hub = await startTestHub(dialect, { flags: ['--host-metrics-interval', '0'] });
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    test('leave the row and answer each heartbeat as one batch each would', { skip }, async () => {
      let trial = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(heartbeat, { minLength: 1, maxLength: 7 }), fc.boolean(), async (beats, startOffline) => {
          trial++;
          const alone = `alone-${trial}`;
          const together = `together-${trial}`;
          for (const id of [alone, together]) {
            assert.equal((await hub.call('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 'runs' })).status, 201);
            if (startOffline) await hub.db.transaction((tx) => tx.run(`UPDATE agents SET status = 'offline' WHERE agent_id = ?`, [id]));
          }
          const now = (i: number) => 1_800_000_000_000 + trial * 1_000_000 + i * 1000;
          const command = (agentId: string, hb: Heartbeat, i: number): Command => ({
            kind: 'heartbeat',
            agentId,
            heartbeat: hb,
            now: now(i),
          });
          const one: unknown[] = [];
          for (const [i, hb] of beats.entries()) one.push(...(await hub.writer.submit([command(alone, hb, i)])));
          const batch = await hub.writer.submit(beats.map((hb, i) => command(together, hb, i)));
          assert.deepEqual(batch, one, 'each heartbeat is answered as when applied alone');
          const [a, b] = await Promise.all(
            [alone, together].map((id) => hub.db.get<Record<string, unknown>>(`SELECT ${ROW} FROM agents WHERE agent_id = ?`, [id])),
          );
          assert.deepEqual(b, a, 'the agent row is the same');
          const samples = async (id: string) =>
            (
              await hub.db.all<{ n: number }>(
                'SELECT COUNT(*) AS n FROM agent_metrics m JOIN agent_keys k ON k.agent_key = m.agent_key WHERE k.agent_id = ?',
                [id],
              )
            )[0]?.n;
          assert.equal(Number(await samples(together)), Number(await samples(alone)), 'the same samples are stored');
        }),
        { numRuns: dialect === 'postgres' ? 25 : 60 },
      );
    });

    test('a run ends before another command of its agent: an event that stops the agent after its heartbeats wins', { skip }, async () => {
      assert.equal((await hub.call('POST', '/api/v1/agents', { agent_id: 'run-stop', name: 'run-stop', agent_type: 'runs' })).status, 201);
      const now = Date.now();
      await hub.writer.submit([
        { kind: 'heartbeat', agentId: 'run-stop', heartbeat: { status: 'busy', metrics: { memory_mb: 5 } }, now },
        { kind: 'heartbeat', agentId: 'run-stop', heartbeat: { resources: { cpu_cores_available: 3 } }, now: now + 1 },
        { kind: 'event', agentId: 'run-stop', event: { event_type: 'stopped', message: 'done' }, now: now + 2 },
      ]);
      const row = await hub.db.get<{ status: string; offline_reason: string; memory_mb: number; cpu_cores_available: number }>(
        'SELECT status, offline_reason, memory_mb, cpu_cores_available FROM agents WHERE agent_id = ?',
        ['run-stop'],
      );
      assert.deepEqual(
        { ...row, memory_mb: Number(row?.memory_mb), cpu_cores_available: Number(row?.cpu_cores_available) },
        { status: 'offline', offline_reason: 'stopped', memory_mb: 5, cpu_cores_available: 3 },
      );
    });
  });
}
