import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestHub, type TestHub } from './support/hub.js';

/** Network I/O in heartbeats (`net_rx_bps`, `net_tx_bps`): kept with the agent's resources, bounded. */

let hub: TestHub;
before(async () => {
  hub = await startTestHub('sqlite', { flags: ['--host-metrics-interval', '0'] });
  await hub.call('POST', '/api/v1/agents', { agent_id: 'n-1', name: 'n', agent_type: 'worker' });
});
after(() => hub.close());

test('a heartbeat with network rates keeps them as the agent latest resources', async () => {
  const hb = await hub.call('POST', '/api/v1/agents/n-1/heartbeat', { resources: { net_rx_bps: 2_000_000, net_tx_bps: 500_000 } });
  assert.equal(hb.status, 200, JSON.stringify(hb.body));
  const a = (await hub.call('GET', '/api/v1/agents/n-1')).body.agent;
  assert.equal(a.resource_metrics.net_rx_bps, 2_000_000);
  assert.equal(a.resource_metrics.net_tx_bps, 500_000);
  assert.equal(typeof a.resource_updated_at.net_rx_bps, 'number');
});

test('negative, huge or non-numeric network rates are refused and change nothing', async () => {
  for (const bad of [{ net_rx_bps: -1 }, { net_tx_bps: 1e16 }, { net_rx_bps: 'fast' }]) {
    const r = await hub.call('POST', '/api/v1/agents/n-1/heartbeat', { resources: bad });
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal(r.body.error.code, 'VIGIL_VALIDATION');
  }
  const a = (await hub.call('GET', '/api/v1/agents/n-1')).body.agent;
  assert.equal(a.resource_metrics.net_rx_bps, 2_000_000);
});

test('heartbeats the hub samples from a local process carry the host network rates from the second sample on', async () => {
  const reg = await hub.call('POST', '/api/v1/agents', {
    agent_id: 'n-2',
    name: 'n2',
    agent_type: 'worker',
    heartbeat_interval_s: 1,
    metadata: { pid: process.pid },
  });
  assert.equal(reg.status, 201);
  const deadline = Date.now() + 20_000;
  let res: Record<string, unknown> = {};
  while (Date.now() < deadline) {
    res = (await hub.call('GET', '/api/v1/agents/n-2')).body.agent.resource_metrics;
    if (typeof res.net_rx_bps === 'number') break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(typeof res.net_rx_bps, 'number', JSON.stringify(res));
  assert.ok((res.net_rx_bps as number) >= 0);
  assert.equal(typeof res.net_tx_bps, 'number');
});
