import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

/** LLM traces and the hub's own host metrics, over HTTP, on both dialects. */
for (const dialect of DIALECTS) {
  describe(`traces and host metrics on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    let hub: TestHub;
    before(async () => {
      if (skip) return;
      hub = await startTestHub(dialect, { flags: ['--host-metrics-interval', '0'] });
      await hub.call('POST', '/api/v1/agents', { agent_id: 'llm-1', name: 'llm', agent_type: 'research' });
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    test('an LLM trace is stored once per event_id and listed newest first', { skip }, async () => {
      const trace = {
        model: 'claude-sonnet-4',
        provider: 'anthropic',
        input_tokens: 1200,
        output_tokens: 350,
        cost_usd: 0.0093,
        latency_ms: 1840.5,
        status: 'ok',
        trace_id: 'a1b2c3',
        attributes: { prompt: 'summarise' },
        event_id: 'tr-1',
      };
      const first = await hub.call('POST', '/api/v1/agents/llm-1/traces', trace);
      assert.equal(first.status, 201);
      const retry = await hub.call('POST', '/api/v1/agents/llm-1/traces', trace);
      assert.equal(retry.status, 200);
      assert.deepEqual(retry.body, { id: first.body.id, duplicate: true });
      await hub.call('POST', '/api/v1/agents/llm-1/traces', { model: 'gpt-5', status: 'error', error: 'rate limited' });

      const list = await hub.call('GET', '/api/v1/traces?agent_id=llm-1');
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.traces.map((t: { model: string }) => t.model),
        ['gpt-5', 'claude-sonnet-4'],
      );
      const stored = list.body.traces[1];
      assert.equal(stored.input_tokens, 1200);
      assert.equal(stored.cost_usd, 0.0093);
      assert.equal(stored.latency_ms, 1840.5);
      assert.deepEqual(stored.attributes, { prompt: 'summarise' });
      assert.equal(typeof stored.received_at, 'number');
      const byModel = await hub.call('GET', '/api/v1/traces?model=gpt-5');
      assert.equal(byModel.body.traces.length, 1);
    });

    test('bad traces get 400 naming the field; unknown agents 404; traces ride in ingest batches', { skip }, async () => {
      const noModel = await hub.call('POST', '/api/v1/agents/llm-1/traces', { input_tokens: 5 });
      assert.equal(noModel.status, 400);
      assert.match(noModel.body.error.message, /model/);
      const negative = await hub.call('POST', '/api/v1/agents/llm-1/traces', { model: 'm', output_tokens: -1 });
      assert.equal(negative.status, 400);
      const unknown = await hub.call('POST', '/api/v1/agents/nobody/traces', { model: 'm' });
      assert.equal(unknown.status, 404);

      const batch = await hub.call('POST', '/api/v1/ingest', {
        traces: [
          { agent_id: 'llm-1', model: 'batched', event_id: 'tr-b1' },
          { agent_id: 'nobody', model: 'batched' },
        ],
      });
      assert.equal(batch.status, 207);
      assert.equal(batch.body.accepted.traces, 1);
      assert.deepEqual(
        batch.body.rejected.map((r: { kind: string; index: number; code: string }) => [r.kind, r.index, r.code]),
        [['traces', 1, 'VIGIL_AGENT_NOT_FOUND']],
      );
    });

    test("the hub's host metrics land in system_metrics; the first sample has no CPU figure", { skip }, async () => {
      assert.equal(hub.hostMetrics, undefined, '--host-metrics-interval 0 turns sampling off');
      const sampled = await startTestHub(dialect, { flags: ['--host-metrics-interval', '3600'] });
      try {
        const job = sampled.hostMetrics;
        assert.ok(job);
        // start() takes the first sample at once; wait until it is stored, then take a second.
        for (let i = 0; i < 100; i++) {
          if ((await sampled.call('GET', '/api/v1/system/metrics?since=0')).body.samples.length > 0) break;
          await new Promise((r) => setTimeout(r, 20));
        }
        const second = await job.sampleOnce();
        const res = await sampled.call('GET', '/api/v1/system/metrics?since=0');
        assert.equal(res.status, 200);
        const samples = res.body.samples;
        assert.equal(samples.length, 2);
        assert.equal(samples[0].cpu_percent, null);
        assert.ok(samples[1].cpu_percent >= 0 && samples[1].cpu_percent <= 100, String(samples[1].cpu_percent));
        assert.equal(samples[1].cpu_percent, second.cpu_percent);
        assert.ok(samples[1].memory_used_bytes > 0 && samples[1].memory_used_bytes <= samples[1].memory_limit_bytes);
        assert.ok(samples[1].cpu_cores >= 1);
        assert.ok(samples[1].disk_total_bytes > samples[1].disk_used_bytes);
      } finally {
        await sampled.close();
      }
    });
  });
}
