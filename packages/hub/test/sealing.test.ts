import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../src/clock.js';
import type { Command } from '../src/ingest/commands.js';
import { decodeBlock, encodeBlock, type BlockSample } from '../src/store/metric-blocks.js';
import { readRaw } from '../src/store/rollups.js';
import { BLOCK_FIGURES, SEAL_AFTER_MS } from '../src/store/sealing.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

/**
 * Samples past the recent window are sealed into one compressed block per agent and hour: values
 * come back bit for bit, the range API answers the same before and after, retries within the
 * window still count once, and a block costs a fraction of its rows.
 */

test('a block gives back every value bit for bit: nulls, negatives, tiny and huge numbers, integers', () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const specials = [0, -0, 1e-300, -1e300, Number.MAX_VALUE, Number.MIN_VALUE, 2 ** 53 - 1, 0.1 + 0.2, -42.5];
  const samples: BlockSample[] = [];
  let t = 1_780_000_000_000;
  for (let i = 0; i < 300; i++) {
    t += i % 17 === 0 ? 0 : 15_000 + Math.floor(rnd() * 100) - 50; // ties, and jitter both ways
    samples.push({
      received_at: t,
      timestamp: i % 11 === 0 ? null : i % 13 === 0 ? t + 0.5 : t - Math.floor(rnd() * 5000) + 1000,
      status: i % 7 === 0 ? 2 : 1,
      values: [
        rnd() * 100,
        i % 3 === 0 ? null : 300 + i / 256,
        i,
        specials[i % specials.length] as number,
        null,
        16,
        rnd() < 0.5 ? 0 : -rnd() * 1e6,
      ],
    });
  }
  const packed = encodeBlock(samples, 7);
  const back = decodeBlock(packed);
  assert.equal(back.length, samples.length);
  back.forEach((b, i) => {
    const s = samples[i] as BlockSample;
    assert.equal(b.received_at, s.received_at);
    assert.equal(b.timestamp, s.timestamp);
    assert.equal(b.status, s.status);
    s.values.forEach((v, f) => assert.ok(Object.is(b.values[f], v), `sample ${i} figure ${f}: ${b.values[f]} vs ${v}`));
  });
  // Seven figures of 300 samples are 16.8 kB as doubles; the steady ones cost next to nothing.
  assert.ok(packed.length < 300 * 7 * 8 * 0.6, `${packed.length} bytes`);
  assert.throws(() => decodeBlock(Buffer.from([1, 2, 3])));
});

const T0 = Date.UTC(2026, 3, 1, 6);
const STEP = 15_000;
/** Five hours of heartbeats for two agents, every figure a slowly moving value. */
const BEATS = (5 * 3_600_000) / STEP;

for (const dialect of DIALECTS) {
  describe(`sealing on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    let hub: TestHub;
    const clock = new ManualClock(T0);

    before(async () => {
      if (skip) return;
      hub = await startTestHub(dialect, { clock, flags: ['--host-metrics-interval', '0', '--rollup-interval', '3600'] });
      for (const id of ['s-1', 's-2']) await hub.call('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 'seal' });
      const cmds: Command[] = [];
      for (let i = 0; i < BEATS; i++) {
        clock.advance(STEP);
        for (const [n, agentId] of ['s-1', 's-2'].entries()) {
          cmds.push({
            kind: 'heartbeat',
            agentId,
            now: clock.now(),
            heartbeat: {
              event_id: `${agentId}-${i}`,
              timestamp: clock.now() - 120,
              status: i % 9 === 0 ? 'busy' : 'online',
              metrics: { cpu_percent: 10 + ((i * 7 + n) % 50) / 3, memory_mb: 512 + i / 256, message_count: i },
              resources: { cpu_percent: 40 + (i % 20), memory_available_gb: 12.5, cpu_cores_physical: 8 },
            },
          });
        }
      }
      for (let i = 0; i < cmds.length; i += 500) await hub.writer.submit(cmds.slice(i, i + 500));
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    test('the rollup pass seals whole hours past the window; the range API answers the same', { skip }, async () => {
      const q = `since=${T0}&until=${clock.now() + 1}&fields=cpu_percent,memory_mb,host_cpu_percent`;
      const before = await hub.call('GET', `/api/v1/agents/s-1/metrics?${q}`);
      assert.equal(before.status, 200);
      assert.equal(before.body.resolution, 'raw');
      assert.equal(before.body.points.length, BEATS);
      const bytesBefore = await hub.db.footprint();

      const report = await hub.rollups.runOnce();
      // Hours ending at or before now less the window: the first 3 of the 5 (T0 is on the hour).
      const horizon = Math.floor((clock.now() - SEAL_AFTER_MS) / 3_600_000) * 3_600_000;
      // The first beat is one step after T0; the one at the horizon itself stays a row.
      const sealedPerAgent = (horizon - T0) / STEP - 1;
      assert.equal(report.sealed, 2 * sealedPerAgent);
      const blocks = await hub.db.all<{ samples: number; start_at: number }>(
        'SELECT samples, start_at FROM agent_metric_blocks ORDER BY start_at',
      );
      assert.equal(blocks.length, 2 * ((horizon - T0) / 3_600_000), 'one block per agent and hour');
      const left = await hub.db.get<{ n: number; t: number }>('SELECT COUNT(*) AS n, MIN(received_at) AS t FROM agent_metrics');
      assert.equal(Number(left?.n), 2 * BEATS - 2 * sealedPerAgent);
      assert.ok(Number(left?.t) >= horizon, 'no row before the horizon is left');

      const after = await hub.call('GET', `/api/v1/agents/s-1/metrics?${q}`);
      assert.deepEqual(after.body, before.body, 'the raw range reads the same from blocks and rows');
      const agentView = await hub.call('GET', '/api/monitoring/agents/s-1');
      assert.ok(agentView.body.metrics.length > 0, 'the last hour is still rows');
      // Charts read rollups: the same hourly answer.
      const hourly = await hub.call('GET', `/api/v1/agents/s-2/metrics?since=${T0 - 3 * 86_400_000}&until=${clock.now() + 1}`);
      assert.equal(hourly.body.resolution, '1h');
      assert.equal(
        hourly.body.points.reduce((n: number, p: { samples: number }) => n + p.samples, 0),
        BEATS,
      );

      if (dialect === 'sqlite') {
        const size = (fp: typeof bytesBefore, t: string) => fp.tables.find((x) => x.name === t)?.bytes ?? 0;
        const bytesAfter = await hub.db.footprint();
        const perRow = size(bytesBefore, 'agent_metrics') / (2 * BEATS);
        const perSealed = size(bytesAfter, 'agent_metric_blocks') / (2 * sealedPerAgent);
        assert.ok(perSealed < perRow / 3, `a sealed sample costs ${perSealed.toFixed(1)} B, a row ${perRow.toFixed(1)} B`);
      }
      // A second pass finds nothing new to seal.
      assert.equal((await hub.rollups.runOnce()).sealed, 0);
    });

    test(
      "an agent's newest sample stays a row however old, for the alert engine; it is sealed once a newer one comes",
      { skip },
      async () => {
        await hub.call('POST', '/api/v1/agents', { agent_id: 's-3', name: 's-3', agent_type: 'seal', heartbeat_interval_s: 3600 });
        const beat = (now: number): Command => ({ kind: 'heartbeat', agentId: 's-3', now, heartbeat: { metrics: { cpu_percent: 5 } } });
        await hub.writer.submit([beat(T0 + 60_000)]);
        const rowsOf = async (table: string) =>
          Number(
            (
              await hub.db.get<{ n: number }>(
                `SELECT COUNT(*) AS n FROM ${table} WHERE agent_key = (SELECT agent_key FROM agent_keys WHERE agent_id = 's-3')`,
              )
            )?.n,
          );
        await hub.rollups.runOnce();
        assert.deepEqual([await rowsOf('agent_metrics'), await rowsOf('agent_metric_blocks')], [1, 0]);
        await hub.writer.submit([beat(clock.now())]);
        assert.equal((await hub.rollups.runOnce()).sealed, 1);
        assert.deepEqual([await rowsOf('agent_metrics'), await rowsOf('agent_metric_blocks')], [1, 1]);
      },
    );

    test('a straggler row inside a sealed hour is merged into its block by the next pass', { skip }, async () => {
      const hour = T0 + 3_600_000;
      await hub.db.transaction((tx) =>
        tx.run(
          `INSERT INTO agent_metrics (agent_key, received_at, status, cpu_percent) VALUES ((SELECT agent_key FROM agent_keys WHERE agent_id = 's-1'), ?, 1, 99)`,
          [hour + 1],
        ),
      );
      const r = await hub.rollups.runOnce();
      assert.equal(r.sealed, 1);
      const raw = await readRaw(
        hub.db,
        { series: 'agent', key: 's-1', since: hour, until: hour + 3_600_000, figures: BLOCK_FIGURES },
        10_000,
      );
      const points = raw.points.get('s-1') ?? [];
      assert.equal(points.length, 3_600_000 / STEP + 1);
      assert.equal(points.find((p) => p.t === hour + 1)?.figures.cpu_percent?.last, 99);
      const blocks = await hub.db.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM agent_metric_blocks WHERE agent_key = (SELECT agent_key FROM agent_keys WHERE agent_id = 's-1') AND start_at >= ? AND start_at < ?",
        [hour, hour + 3_600_000],
      );
      assert.equal(Number(blocks?.n), 1, 'the hour is still one block');
    });

    test('deleting an agent removes its blocks; retention purges blocks past the cutoff', { skip }, async () => {
      assert.equal((await hub.call('DELETE', '/api/v1/agents/s-2')).status, 200);
      await hub.retention.runOnce();
      const left = await hub.db.get<{ n: number }>(
        "SELECT COUNT(*) AS n FROM agent_metric_blocks WHERE agent_key = (SELECT agent_key FROM agent_keys WHERE agent_id = 's-2')",
      );
      assert.equal(Number(left?.n), 0);
      clock.advance(8 * 86_400_000);
      await hub.retention.runOnce();
      assert.equal(Number((await hub.db.get<{ n: number }>('SELECT COUNT(*) AS n FROM agent_metric_blocks'))?.n), 0);
    });
  });
}
