import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { RetentionJob } from '../src/jobs/retention.js';
import { DAY_MS, PURGE_TARGETS, type PurgeTarget, type Retention } from '../src/store/retention.js';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';
import { vigil } from './support/cli.js';

/**
 * Retention with a controlled clock: a purge removes exactly the rows past each table's retention,
 * keeps every newer row and every unresolved error, and the storage report and `vigil storage`
 * show what is left. On both databases.
 */

const NOW = Date.UTC(2026, 5, 1, 12);
/** Ages (days before NOW) at which data is written: on both sides of every retention boundary. */
const AGES = [400, 100, 40, 25, 15, 9, 6.9, 1, 0.1];
// Events and traces get non-default retentions, to show the settings take effect.
const RETENTION: Retention = { metricsDays: 7, eventsDays: 10, errorsDays: 7, tracesDays: 20, rollup1hDays: 365 };
const FLAGS = ['--retention-events-days', '10', '--retention-traces-days', '20'];
/** A time after every cutoff: what a table's time expression gives a row retention must keep however old. */
const KEPT = NOW + 1_000 * DAY_MS;

/** Each table's time column, and the columns that identify a row. */
const SHAPE: Record<PurgeTarget, { time: string; id: string }> = {
  agent_metrics: { time: 'received_at', id: 'id' },
  agent_metric_blocks: { time: 'end_at', id: "agent_key || '/' || start_at" },
  heartbeat_event_ids: { time: 'received_at', id: 'event_id' },
  system_metrics: { time: 'received_at', id: 'id' },
  agent_events: { time: 'received_at', id: 'id' },
  agent_event_ids: { time: 'received_at', id: "agent_id || '/' || event_id" },
  error_logs: { time: 'last_seen_at', id: 'id' },
  error_event_ids: { time: 'received_at', id: "agent_id || '/' || event_id" },
  llm_traces: { time: 'received_at', id: 'id' },
  llm_trace_ids: { time: 'received_at', id: "agent_id || '/' || event_id" },
  otlp_points: { time: 'received_at', id: 'id' },
  agent_metrics_1h: { time: 'bucket', id: "agent_id || '/' || bucket" },
  system_metrics_1h: { time: 'bucket', id: "host || '/' || bucket" },
  fleet_metrics_1h: { time: 'bucket', id: 'bucket' },
  // When a claim ended: released, or its lease ran out.
  capacity_claims: { time: 'COALESCE(released_at, expires_at)', id: 'claim_id' },
  // Pending deliveries and open alerts are kept, however old; so is a resolved alert while a delivery
  // of it stays (pending, or finished within the retention).
  webhook_deliveries: { time: `CASE WHEN status <> 'pending' THEN updated_at ELSE ${KEPT} END`, id: 'delivery_id' },
  alerts: {
    time:
      `CASE WHEN state = 'resolved' AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.alert_id = alerts.id AND ` +
      `(d.status = 'pending' OR d.updated_at >= ${NOW - 10 * DAY_MS})) THEN resolved_at ELSE ${KEPT} END`,
    id: "rule_name || '/' || agent_id",
  },
  alert_silences: { time: 'until', id: 'comment' },
};
const DAYS: Record<PurgeTarget, number> = {
  agent_metrics: 7,
  // Remembered for retries for an hour (store/heartbeat-samples.ts), whatever the metrics retention.
  heartbeat_event_ids: 1 / 24,
  agent_metric_blocks: 7,
  system_metrics: 7,
  agent_events: 10,
  // Event and call ids are kept as long as their rows (store/event-ids.ts).
  agent_event_ids: 10,
  error_logs: 7,
  error_event_ids: 7,
  llm_traces: 20,
  llm_trace_ids: 20,
  otlp_points: 7,
  agent_metrics_1h: 365,
  system_metrics_1h: 365,
  fleet_metrics_1h: 365,
  // Ended claims go with the events.
  capacity_claims: 10,
  // Alert history too.
  webhook_deliveries: 10,
  alerts: 10,
  alert_silences: 10,
};

for (const dialect of DIALECTS) {
  describe(`retention on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    let hub: TestHub;
    const clock = new ManualClock(NOW - 401 * DAY_MS);
    const ids = async (t: PurgeTarget, where: string, params: unknown[] = []): Promise<string[]> =>
      (await hub.db.all<{ k: string }>(`SELECT ${SHAPE[t].id} AS k FROM ${t} WHERE ${where}`, params)).map((r) => String(r.k)).sort();

    before(async () => {
      if (skip) return;
      hub = await startTestHub(dialect, {
        clock,
        flags: ['--host-metrics-interval', '0', '--rollup-interval', '3600', '--retention-interval', '86400', ...FLAGS],
      });
      for (const id of ['p-1', 'p-2']) await hub.call('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 'retention' });
      let n = 0;
      for (const [index, age] of AGES.entries()) {
        // Error fingerprints ignore numbers: a letter keeps each age's open error a group of its own.
        const tag = 'abcdefghijklmnop'[index] ?? 'z';
        clock.set(NOW - age * DAY_MS);
        for (const agent of ['p-1', 'p-2']) {
          for (let i = 0; i < 3; i++) {
            const hb = await hub.call('POST', `/api/v1/agents/${agent}/heartbeat`, {
              event_id: `hb-${++n}`,
              resources: { cpu_percent: age % 100 },
              metrics: { memory_mb: i },
            });
            assert.equal(hb.status, 200);
            await hub.writer.submitOne({
              kind: 'system_metrics',
              row: {
                host: `host-${agent}`,
                received_at: clock.now(),
                cpu_percent: i,
                cpu_cores: 2,
                cpu_load_1min: null,
                cpu_load_5min: null,
                cpu_load_15min: null,
                memory_used_bytes: 1,
                memory_limit_bytes: 2,
                memory_percent: 50,
                disk_used_bytes: null,
                disk_total_bytes: null,
                io_read_bps: null,
                io_write_bps: null,
              },
            });
            clock.advance(20_000);
          }
          await hub.call('POST', `/api/v1/agents/${agent}/events`, { event_type: 'info', message: `age ${age}`, event_id: `ev-${++n}` });
          await hub.call('POST', `/api/v1/agents/${agent}/traces`, { model: 'm', event_id: `tr-${++n}` });
          const point = { timeUnixNano: `${BigInt(clock.now()) * 1_000_000n}`, asDouble: age };
          const otlp = await hub.call('POST', '/v1/metrics', {
            resourceMetrics: [
              {
                resource: { attributes: [{ key: 'vigil.agent_id', value: { stringValue: agent } }] },
                scopeMetrics: [{ metrics: [{ name: 'queue.depth', gauge: { dataPoints: [point] } }] }],
              },
            ],
          });
          assert.equal(otlp.status, 200);
          const open = await hub.call('POST', `/api/v1/agents/${agent}/errors`, {
            error_type: 'Open',
            message: `never resolved, batch ${tag}`,
            event_id: `err-${++n}`,
          });
          assert.equal(open.status, 201);
          const done = await hub.call('POST', `/api/v1/agents/${agent}/errors`, {
            error_type: 'Done',
            message: `resolved, age ${age}`,
            event_id: `err-${++n}`,
          });
          assert.equal((await hub.call('POST', `/api/v1/errors/${done.body.id}/resolve`)).status, 200);
          // Claims made now: one released after a minute, one whose ten-minute lease runs out, and one
          // still active at NOW (its lease runs a day past it), which retention must keep however old.
          const at = clock.now();
          for (const [kind, expires, released] of [
            ['released', at + 600_000, at + 60_000],
            ['expired', at + 600_000, null],
            ['active', NOW + DAY_MS, null],
          ] as const) {
            await hub.db.transaction((tx) =>
              tx.run(
                `INSERT INTO capacity_claims (claim_id, agent_id, pool_name, job, cpu_cores, memory_gb, gpu_vram_gb, gpu_count,
                   claimed_by, created_at, expires_at, released_at)
                 VALUES (?, ?, 'default', 'retention', 1, 0, 0, 0, 'test', ?, ?, ?)`,
                [`${kind}-${agent}-${n}`, agent, at, expires, released],
              ),
            );
          }
          // Alert history: an alert resolved a minute later with one delivered and one failed
          // notification, an alert still firing (an open one is never purged), and a silence of an
          // hour. At the oldest age, also a resolved alert whose notification is still pending, and
          // one whose notification was delivered only yesterday.
          await hub.db.transaction(async (tx) => {
            const alert = async (name: string, state: string, resolvedAt: number | null): Promise<number> => {
              const row = await tx.get<{ id: number }>(
                `INSERT INTO alerts (rule_id, rule_name, agent_id, state, severity, metric, op, threshold, pending_since, started_at,
                   resolved_at, updated_at)
                 VALUES (?, ?, ?, ?, 'warning', 'cpu_percent', '>', 90, ?, ?, ?, ?) RETURNING id`,
                [1_000 + n, name, agent, state, at, at, resolvedAt, resolvedAt ?? at],
              );
              return Number(row?.id);
            };
            const delivery = (alertId: number, name: string, status: string, updatedAt: number) =>
              tx.run(
                `INSERT INTO webhook_deliveries (webhook_id, alert_id, kind, status, attempts, payload, created_at, updated_at, delivery_id)
                 VALUES (999999, ?, 'resolved', ?, 1, '{}', ?, ?, ?)`,
                [alertId, status, at, updatedAt, `${name}/${agent}`],
              );
            const resolved = await alert(`resolved-${n}`, 'resolved', at + 60_000);
            await delivery(resolved, `delivered-${n}`, 'delivered', at + 70_000);
            await delivery(resolved, `failed-${n}`, 'failed', at + 80_000);
            await alert(`firing-${n}`, 'firing', null);
            if (index === 0) {
              const waiting = await alert(`waiting-${n}`, 'resolved', at + 60_000);
              await delivery(waiting, `pending-${n}`, 'pending', at + 70_000);
              // Its notification delivered only yesterday (retried for long): the alert stays with it.
              const sentLate = await alert(`sent-late-${n}`, 'resolved', at + 60_000);
              await delivery(sentLate, `late-${n}`, 'delivered', NOW - DAY_MS);
            }
            await tx.run('INSERT INTO alert_silences (rule_id, agent_id, until, comment, created_at) VALUES (NULL, ?, ?, ?, ?)', [
              agent,
              at + 3_600_000,
              `silence-${agent}-${n}`,
              at,
            ]);
          });
        }
      }
      // Reported 20 days ago, resolved only 2 days ago: resolved recently, so it stays.
      clock.set(NOW - 20 * DAY_MS);
      const late = await hub.call('POST', '/api/v1/agents/p-1/errors', { error_type: 'Slow', message: 'resolved lately' });
      clock.set(NOW - 2 * DAY_MS);
      await hub.call('POST', `/api/v1/errors/${late.body.id}/resolve`);
      // A heartbeat within the event-id window: its id is kept, the older ones go.
      clock.set(NOW - 600_000);
      assert.equal((await hub.call('POST', '/api/v1/agents/p-2/heartbeat', { event_id: 'hb-recent' })).status, 200);
      clock.set(NOW);
      await hub.rollups.runOnce();
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    test('a purge removes exactly what is past retention, keeps everything newer and every unresolved error', { skip }, async () => {
      // Samples past the recent window were sealed into hourly blocks by the rollup pass.
      const samples = async () =>
        (await ids('agent_metrics', 'TRUE')).length +
        Number((await hub.db.get<{ n: number }>('SELECT SUM(samples) AS n FROM agent_metric_blocks'))?.n ?? 0);
      assert.equal(await samples(), AGES.length * 2 * 3 + 1);
      // Still rows: p-2's recent sample, and p-1's newest (an agent's newest sample is never sealed).
      assert.equal((await ids('agent_metrics', 'TRUE')).length, 2);
      // Rows past retention that were never sealed (a hub that seals nothing, or is behind): purged as rows.
      for (const at of [NOW - 8 * DAY_MS, NOW - 8 * DAY_MS + 1]) {
        await hub.db.transaction((tx) =>
          tx.run(
            `INSERT INTO agent_metrics (agent_key, received_at, status) VALUES ((SELECT agent_key FROM agent_keys WHERE agent_id = 'p-1'), ?, 1)`,
            [at],
          ),
        );
      }
      const cutoff = (t: PurgeTarget) => NOW - DAYS[t] * DAY_MS;
      const keep = new Map<PurgeTarget, string[]>();
      for (const t of PURGE_TARGETS) {
        keep.set(t, await ids(t, `${SHAPE[t].time} >= ?`, [cutoff(t)]));
        assert.ok((await ids(t, `${SHAPE[t].time} < ?`, [cutoff(t)])).length > 0, `${t} has rows past retention to purge`);
      }
      const unresolved = await ids('error_logs', 'resolved = FALSE');
      assert.equal(unresolved.length, 2 * AGES.length);
      const recentlyResolved = await ids('error_logs', "error_type = 'Slow'");

      // Batches of 7 rows: many per table, so batch boundaries are crossed everywhere.
      const job = new RetentionJob(hub.writer, hub.db, clock, {
        everyMs: 3_600_000,
        retention: RETENTION,
        onError: () => undefined,
        batchRows: 7,
      });
      const report = await job.runOnce();
      assert.ok(report.batches > PURGE_TARGETS.length, `${report.batches} batches`);

      for (const t of PURGE_TARGETS) {
        const past =
          t === 'error_logs'
            ? await ids(t, 'resolved = TRUE AND last_seen_at < ? AND resolved_at < ?', [cutoff(t), cutoff(t)])
            : await ids(t, `${SHAPE[t].time} < ?`, [cutoff(t)]);
        assert.deepEqual(past, [], `${t}: nothing past retention remains`);
        const expected =
          t === 'error_logs' ? [...new Set([...(keep.get(t) ?? []), ...unresolved, ...recentlyResolved])].sort() : keep.get(t);
        assert.deepEqual(await ids(t, 'TRUE'), expected, `${t}: exactly the newer rows remain`);
      }
      // Three ages are within 7 days, two agents, three heartbeats each, and the recent one.
      assert.equal(await samples(), 3 * 2 * 3 + 1);
      assert.equal(report.deleted.agent_metrics, 2, 'the two unsealed rows past retention');
      assert.deepEqual(await ids('heartbeat_event_ids', 'TRUE'), ['hb-recent']);
      assert.deepEqual(await ids('error_logs', 'resolved = FALSE'), unresolved, 'unresolved errors are never purged, however old');
      assert.equal(
        (await ids('capacity_claims', "claim_id LIKE 'active-%'")).length,
        AGES.length * 2,
        'active claims are never purged, however old',
      );
      // Ended more than 10 days before NOW: the five oldest ages, two agents, released and expired.
      assert.equal(report.deleted.capacity_claims, 5 * 2 * 2);
      // Alert history past 10 days: five ages, two agents; what is open or still to be sent stays.
      assert.equal(report.deleted.alerts, 5 * 2);
      assert.equal(report.deleted.webhook_deliveries, 5 * 2 * 2);
      assert.equal(report.deleted.alert_silences, 5 * 2);
      assert.equal((await ids('alerts', "rule_name LIKE 'firing-%'")).length, AGES.length * 2, 'open alerts are never purged');
      assert.equal((await ids('alerts', "rule_name LIKE 'waiting-%'")).length, 2, 'nor one with a notification still pending');
      assert.equal((await ids('alerts', "rule_name LIKE 'sent-late-%'")).length, 2, 'nor one whose delivery is still kept');
      assert.equal((await ids('webhook_deliveries', "status = 'pending'")).length, 2, 'nor a pending delivery');
      // Six ages past 7 days, two agents: one block each.
      assert.equal(report.deleted.agent_metric_blocks, 6 * 2);

      const again = await hub.retention.runOnce();
      assert.equal(
        Object.values(again.deleted).reduce((a, b) => a + b, 0),
        0,
        'a second pass finds nothing',
      );
      assert.equal(again.walTruncated, true);
    });

    test('GET /api/v1/storage and vigil storage show rows and bytes per table and the projected size', { skip }, async () => {
      const r = await hub.call('GET', '/api/v1/storage');
      assert.equal(r.status, 200);
      const body = r.body;
      assert.equal(body.dialect, dialect);
      assert.deepEqual(body.retention, {
        metrics_days: 7,
        events_days: 10,
        errors_days: 7,
        traces_days: 20,
        rollup_1h_days: 365,
      });
      const byName = new Map(body.tables.map((t: { table: string }) => [t.table, t]));
      for (const t of [...PURGE_TARGETS, 'agents']) {
        const row = byName.get(t) as { rows: number; bytes: number; retention_days: number | null; rows_estimated: boolean };
        assert.ok(row, `${t} is reported`);
        const count = await hub.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${t}`);
        assert.equal(row.rows, Number(count?.n), `${t} rows`);
        assert.equal(row.rows_estimated, false);
        assert.ok(row.bytes > 0, `${t} bytes`);
        assert.equal(row.retention_days, t === 'agents' ? null : DAYS[t as PurgeTarget]);
      }
      const metrics = byName.get('agent_metrics') as {
        rows_per_day: number;
        projected_bytes: number | null;
        projection: string;
        rows: number;
      };
      // A few dozen rows are too few to measure bytes per row: no projection, said so (storage-projection.test.ts projects).
      assert.ok(metrics.rows_per_day > 0, 'arrivals observed');
      assert.equal(metrics.projected_bytes, null);
      assert.equal(metrics.projection, 'not_enough_data');
      assert.equal(body.projected_total_bytes, null);
      assert.equal(body.projection.status, 'not_enough_data');
      assert.ok(body.total_bytes > 0);
      if (dialect === 'sqlite') {
        assert.equal(body.method, 'dbstat');
        assert.equal(body.sqlite.auto_vacuum, 'incremental', 'a new database is created with incremental auto-vacuum');
        assert.ok(body.sqlite.file_bytes > 0);
        assert.equal(typeof body.sqlite.wal_bytes, 'number');
      } else {
        assert.equal(body.method, 'pg_total_relation_size');
      }

      const cli = await vigil(['storage', '--data-dir', hub.dir, '--db', hub.target, ...FLAGS]);
      assert.equal(cli.code, 0, cli.stderr);
      assert.match(cli.stdout, /^Vigil storage/);
      assert.match(cli.stdout, /agent_metrics_1h +\d+/);
      assert.match(cli.stdout, /llm_traces .* 20 d/);
      assert.match(cli.stdout, /Projected size at the configured retention: not enough data yet/);
      assert.match(cli.stdout, /How: .*bytes per row/);
      const json = await vigil(['storage', '--json', '--db', hub.target, '--data-dir', hub.dir]);
      assert.equal(json.code, 0, json.stderr);
      const parsed = JSON.parse(json.stdout);
      assert.equal(parsed.retention.events_days, 30, 'the CLI reports the retention it is given (default here)');
      assert.equal(parsed.tables.find((t: { table: string }) => t.table === 'agent_metrics').rows, metrics.rows);
    });
  });
}
