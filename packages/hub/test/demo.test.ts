import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { Writable } from 'node:stream';
import { startDemo } from '../src/demo/demo.js';
import { createFleet, step, type SimAction } from '../src/demo/simulator.js';
import { startTestHub } from './support/hub.js';

/** A small deterministic PRNG (mulberry32), so the simulated fleet is the same on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PATHS: Record<SimAction['kind'], (id: string) => string> = {
  register: () => '/api/v1/agents',
  heartbeat: (id) => `/api/v1/agents/${id}/heartbeat`,
  event: (id) => `/api/v1/agents/${id}/events`,
  error: (id) => `/api/v1/agents/${id}/errors`,
};

test('every report the simulator makes is accepted by the real API: heartbeats, events, errors, restarts', async () => {
  const hub = await startTestHub('sqlite', { flags: ['--host-metrics-interval', '0'] });
  try {
    const random = seeded(42);
    let now = 1_000_000;
    const fleet = createFleet(12, now, random);
    assert.equal(new Set(fleet.map((a) => a.id)).size, 12, 'ids are unique');
    const seen = new Map<string, number>();
    const send = async (a: SimAction) => {
      const res = await hub.call('POST', PATHS[a.kind](a.agentId), a.body);
      assert.ok(res.status < 300, `${a.kind} ${JSON.stringify(a.body)} → ${res.status} ${JSON.stringify(res.body)}`);
      const key = a.kind === 'event' ? `event:${(a.body as { event_type: string }).event_type}` : a.kind;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    };
    for (const a of fleet)
      await send({ kind: 'register', agentId: a.id, body: { agent_id: a.id, name: a.template.name, agent_type: a.template.type } });
    for (let tick = 0; tick < 400; tick++) {
      now += 500;
      for (const a of fleet) for (const action of step(a, now, random)) await send(action);
    }
    for (const kind of ['heartbeat', 'error', 'event:info', 'event:warning', 'event:stopped', 'event:started', 'register']) {
      assert.ok((seen.get(kind) ?? 0) > 0, `the simulation produced ${kind} (saw ${JSON.stringify([...seen])})`);
    }
    const gpu = fleet.find((a) => a.template.gpu);
    const { body } = await hub.call('GET', `/api/v1/agents/${gpu?.id}`);
    assert.ok(body.agent.resource_metrics.gpu_vram_total_gb > 0, 'GPU agents report VRAM');
  } finally {
    await hub.close();
  }
});

test('vigil demo starts a hub in a temp dir, prints the URL and token, fills it with agents, and cleans up', async () => {
  let printed = '';
  const out = new Writable({
    write(chunk, _enc, done) {
      printed += String(chunk);
      done();
    },
  });
  const demo = await startDemo({ serverArgs: ['--port', '0', '--host-metrics-interval', '0'], env: {}, agents: 4, out });
  const dataDir = /Data: {2}(\S+)/.exec(printed)?.[1] ?? '';
  try {
    assert.match(printed, new RegExp(`Open: {2}${demo.hub.url}/`));
    assert.match(printed, new RegExp(`Token: ${demo.hub.adminToken}`));
    assert.match(demo.hub.adminToken, /^vgl_demo_/);
    assert.ok(existsSync(dataDir), dataDir);
    const deadline = Date.now() + 10_000;
    let beats = 0;
    while (Date.now() < deadline && beats < 4) {
      await new Promise((r) => setTimeout(r, 250));
      const res = await fetch(`${demo.hub.url}/api/monitoring/dashboard`, { headers: { authorization: `Bearer ${demo.hub.adminToken}` } });
      const d = (await res.json()) as { agents: { last_heartbeat_at: number | null; cpu_percent: number | null }[] };
      beats = d.agents.filter((a) => a.cpu_percent !== null).length;
    }
    assert.equal(beats, 4, 'every simulated agent has reported a heartbeat');
    assert.doesNotMatch(printed, /refused/);
  } finally {
    await demo.stop();
  }
  assert.equal(existsSync(dataDir), false, 'the temp data dir is removed');
});
