import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ManualClock } from '../src/clock.js';
import type { Command } from '../src/ingest/commands.js';
import { SEAL_AFTER_MS } from '../src/store/sealing.js';
import { PROJECTION_MIN_ROWS } from '../src/store/storage.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { vigil } from './support/cli.js';

/**
 * The storage projection on a young database: minutes of data and a few rows say nothing about a
 * week (a 232 KB database was once projected to 1.6 GB). It projects only from a measured rate.
 */

const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
let hub: TestHub;
before(async () => {
  hub = await startTestHub('sqlite', {
    clock,
    flags: ['--host-metrics-interval', '0', '--rollup-interval', '3600', '--retention-interval', '86400'],
  });
  await hub.call('POST', '/api/v1/agents', { agent_id: 's-1', name: 's', agent_type: 'worker' });
});
after(() => hub.close());

/** Heartbeats every `everyMs` for `count` beats, committed in one batch. */
async function heartbeats(count: number, everyMs: number): Promise<void> {
  const cmds: Command[] = [];
  for (let i = 0; i < count; i++) {
    clock.advance(everyMs);
    cmds.push({ kind: 'heartbeat', agentId: 's-1', now: clock.now(), heartbeat: { metrics: { memory_mb: i % 500, cpu_percent: 3 } } });
  }
  await hub.writer.submit(cmds);
}

test('ten minutes of heartbeats project nothing: the answer says there is not enough data yet, and how it would compute', async () => {
  await heartbeats(40, 15_000);
  const r = (await hub.call('GET', '/api/v1/storage')).body;
  const metrics = r.tables.find((t: { table: string }) => t.table === 'agent_metrics');
  assert.equal(metrics.rows, 40);
  assert.equal(metrics.projection, 'not_enough_data');
  assert.equal(metrics.projected_bytes, null);
  assert.equal(r.projected_total_bytes, null);
  assert.equal(r.projection.status, 'not_enough_data');
  assert.ok(r.projection.not_enough_data.includes('agent_metrics'));
  assert.match(r.projection.method, /bytes per row .* rows arriving per day .* retention days/);

  const cli = await vigil(['storage', '--data-dir', hub.dir, '--db', hub.target]);
  assert.equal(cli.code, 0, cli.stderr);
  assert.match(cli.stdout, /Projected size at the configured retention: not enough data yet/);
  assert.match(cli.stdout, /not enough data yet to measure the rate of: .*agent_metrics/);
});

test('two hours and thousands of rows project from the measured rate', async () => {
  // 2 h at one heartbeat every 5 s: 1,440 more rows, 17,280 a day.
  await heartbeats(1440, 5_000);
  const r = (await hub.call('GET', '/api/v1/storage')).body;
  const metrics = r.tables.find((t: { table: string }) => t.table === 'agent_metrics');
  assert.ok(metrics.rows >= PROJECTION_MIN_ROWS);
  assert.equal(metrics.projection, 'measured_rate');
  // Rows over the time since the first: 1,480 in 2 h 10 min, about 16,400 a day.
  assert.ok(Math.abs(metrics.rows_per_day - (1480 * 86_400_000) / (130 * 60_000)) < 50, String(metrics.rows_per_day));
  const perRow = metrics.bytes / metrics.rows;
  // Samples stay rows for the recent window and the hour being filled, then live in sealed blocks.
  const rowDays = (SEAL_AFTER_MS + 3_600_000) / 86_400_000;
  assert.ok(Math.abs(metrics.projected_bytes - perRow * metrics.rows_per_day * rowDays) <= perRow);
  assert.notEqual(r.projected_total_bytes, null);
  assert.ok(r.projected_total_bytes >= metrics.projected_bytes);
  // Events of the registration are a handful of rows: still named as unmeasured, so the total is a floor.
  assert.equal(r.projection.status, r.projection.not_enough_data.length > 0 ? 'partial' : 'projected');
  assert.ok(!r.projection.not_enough_data.includes('agent_metrics'));

  // The raw tier: what one heartbeat costs on disk, indexes included, and the tier's size at retention from it.
  const raw = r.tiers.find((t: { tier: string }) => t.tier === 'raw');
  assert.equal(raw.table, 'agent_metrics');
  assert.equal(raw.heartbeats_per_day, metrics.rows_per_day);
  assert.ok(Math.abs(raw.bytes_per_heartbeat - perRow) < 0.01, `${raw.bytes_per_heartbeat} vs ${perRow}`);
  assert.ok(Math.abs(raw.projected_bytes - raw.bytes_per_heartbeat * raw.heartbeats_per_day * 7) <= 7 * raw.heartbeats_per_day * 0.01);
  assert.equal(raw.retention_days, 7);
  // Rollups not run yet here (the job runs hourly): their tiers are not measured, and say so.
  assert.equal(r.tiers.find((t: { tier: string }) => t.tier === '1h').bytes_per_heartbeat, null);
  const cli = await vigil(['storage', '--data-dir', hub.dir, '--db', hub.target]);
  // (The CLI reads the real clock, months after this test's: it sees no arrivals in its last day.)
  assert.match(cli.stdout, /Heartbeat history by tier/);
  assert.match(cli.stdout, /raw +agent_metrics +not measured yet, kept 7 d/);
  assert.match(cli.stdout, /event_ids +heartbeat_event_ids +not measured yet, kept 1 h/);
});
