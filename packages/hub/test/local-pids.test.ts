import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { after, before, test } from 'node:test';
import { loadConfig } from '../src/config/config.js';
import { LocalPidSampler } from '../src/jobs/local-pids.js';
import { startTestHub, type TestHub } from './support/hub.js';

/**
 * The monitoring API's sampling from the hub (docs/seed-requirements.md, docs/local-pids.md): an agent registered with the PID of a live
 * process on the hub's host gets heartbeats the hub takes from that process, until it exits.
 */

let hub: TestHub;
const children: ChildProcess[] = [];
before(async () => {
  hub = await startTestHub('sqlite', { flags: ['--host-metrics-interval', '0'] });
});
after(async () => {
  for (const c of children) c.kill('SIGKILL');
  await hub.close();
});

/** A child that holds about 120 MB resident, so its memory is told apart from an empty process's. */
async function holdMemory(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['-e', "globalThis.b = Buffer.alloc(120e6, 1); console.log('ready'); setInterval(() => {}, 1000);"],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  children.push(child);
  await once(child.stdout!, 'data');
  return child;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

test('the hub samples a registered local PID until the process exits, then reports a stop it cannot explain', async () => {
  const child = await holdMemory();
  const reg = await hub.call('POST', '/api/v1/agents', {
    agent_id: 'pid-1',
    name: 'sampled',
    agent_type: 'worker',
    heartbeat_interval_s: 1,
    metadata: { pid: child.pid },
  });
  assert.equal(reg.status, 201, JSON.stringify(reg.body));

  const sampled = await until('a heartbeat with the child memory', async () => {
    const a = (await hub.call('GET', '/api/v1/agents/pid-1')).body.agent;
    return a.memory_mb !== null && a.memory_mb > 100 ? a : undefined;
  });
  assert.equal(sampled.status, 'online');
  assert.equal(sampled.resource_metrics.sampled_by, 'hub');
  assert.ok(sampled.memory_mb < 1000, `memory ${sampled.memory_mb} MB`);
  assert.equal(hub.localPids?.watched().get('pid-1'), child.pid);

  child.kill('SIGKILL');
  const offline = await until('the agent to go offline', async () => {
    const a = (await hub.call('GET', '/api/v1/agents/pid-1')).body.agent;
    return a.status === 'offline' ? a : undefined;
  });
  assert.equal(offline.offline_reason, 'stopped');
  const events = (await hub.call('GET', '/api/v1/events?agent_id=pid-1&event_type=stopped')).body;
  const stop = events.events[0];
  assert.ok(stop, JSON.stringify(events));
  assert.match(stop.message, /exit status is unknown/);
  assert.equal(hub.localPids?.watched().has('pid-1'), false);
});

test('a PID that is not alive, or not a PID, is not sampled', async () => {
  const child = await holdMemory();
  child.kill('SIGKILL');
  await once(child, 'exit');
  for (const [id, pid] of [
    ['dead-1', child.pid],
    ['bad-1', 'not a pid'],
    ['bad-2', -1],
  ] as const) {
    const r = await hub.call('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 'worker', metadata: { pid } });
    assert.equal(r.status, 201);
  }
  await new Promise((r) => setTimeout(r, 500));
  const watched = hub.localPids?.watched();
  for (const id of ['dead-1', 'bad-1', 'bad-2']) assert.equal(watched?.has(id), false, id);
  assert.equal((await hub.call('GET', '/api/v1/agents/dead-1')).body.agent.memory_mb, null);
});

test('sampling local PIDs is on by default with SQLite and off with PostgreSQL, where several hubs may share a store', () => {
  assert.equal(loadConfig(['--db', '/tmp/x.db'], {}).sampleLocalPids, true);
  assert.equal(loadConfig(['--db', 'postgres://h/db'], {}).sampleLocalPids, false);
  assert.equal(loadConfig(['--db', 'postgres://h/db', '--sample-local-pids', 'true'], {}).sampleLocalPids, true);
  assert.equal(loadConfig(['--sample-local-pids', 'false'], {}).sampleLocalPids, false);
});

test('the number of sampled processes is bounded: one past the bound is refused with a reason, not sampled', async () => {
  const refused: string[] = [];
  const sampler = new LocalPidSampler(hub.writer, hub.db, hub.bus, hub.clock, { maxPids: 1, onError: (e) => refused.push(String(e)) });
  sampler.start();
  try {
    const child = await holdMemory();
    for (const [id, pid] of [
      ['cap-1', process.pid],
      ['cap-2', child.pid],
    ] as const) {
      const r = await hub.call('POST', '/api/v1/agents', {
        agent_id: id,
        name: id,
        agent_type: 'worker',
        heartbeat_interval_s: 60,
        metadata: { pid },
      });
      assert.equal(r.status, 201);
    }
    await until('the refusal', async () => (refused.length > 0 ? true : undefined));
    assert.deepEqual([...sampler.watched().keys()], ['cap-1']);
    assert.match(refused[0] ?? '', /already sampling 1 process/);
  } finally {
    sampler.stop();
  }
});
