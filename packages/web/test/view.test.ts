import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FleetAgent } from '../src/fleet/fleet-state.js';
import { DEFAULT_QUERY, facets, selectAgents, summarize, toggleSort, type ViewQuery } from '../src/fleet/view.js';

function row(id: string, over: Partial<FleetAgent> = {}): FleetAgent {
  return {
    agent_id: id,
    name: id,
    agent_type: 'worker',
    pool_name: 'cpu',
    status: 'online',
    offline_reason: null,
    last_heartbeat_at: 1000,
    cpu_percent: null,
    memory_mb: null,
    message_count: null,
    error_count: 0,
    resources: {},
    capabilities: [],
    paused: false,
    last_llm_activity_at: null,
    partial: false,
    ...over,
  };
}

const fleet = [
  row('b', { cpu_percent: 50, pool_name: 'gpu', agent_type: 'trainer', resources: { gpu_vram_available_gb: 20 }, capabilities: ['cuda'] }),
  row('a', { cpu_percent: 90, status: 'busy', memory_mb: 300 }),
  row('c', { status: 'offline', cpu_percent: 5, memory_mb: 50, error_count: 3, last_heartbeat_at: 10 }),
  row('d', { name: 'Dora', last_heartbeat_at: null }),
];
const ids = (q: Partial<ViewQuery>) => selectAgents(fleet, { ...DEFAULT_QUERY, ...q }).map((a) => a.agent_id);

test('sorts by each column; missing figures go last in both directions; ties by id', () => {
  assert.deepEqual(ids({}), ['a', 'b', 'c', 'd']);
  assert.deepEqual(ids({ sort: 'cpu' }), ['c', 'b', 'a', 'd']);
  assert.deepEqual(ids({ sort: 'cpu', desc: true }), ['a', 'b', 'c', 'd']);
  assert.deepEqual(ids({ sort: 'memory', desc: true }), ['a', 'c', 'b', 'd']);
  assert.deepEqual(ids({ sort: 'status' }), ['b', 'd', 'a', 'c'], 'online, busy, offline');
  assert.deepEqual(ids({ sort: 'vram' }), ['b', 'a', 'c', 'd']);
  assert.deepEqual(ids({ sort: 'heartbeat' }), ['a', 'b', 'c', 'd'], 'most recent first; never heard from last');
  assert.deepEqual(ids({ sort: 'errors', desc: true }), ['c', 'a', 'b', 'd']);
});

test('filters by status, pool and type, and searches name, id, pool, type and capabilities', () => {
  assert.deepEqual(ids({ status: 'offline' }), ['c']);
  assert.deepEqual(ids({ pool: 'gpu' }), ['b']);
  assert.deepEqual(ids({ type: 'worker' }), ['a', 'c', 'd']);
  assert.deepEqual(ids({ search: 'CUDA' }), ['b']);
  assert.deepEqual(ids({ search: ' dora ' }), ['d']);
  assert.deepEqual(ids({ search: 'nothing-like-it' }), []);
});

test('a header click flips its column, or starts a new one in its natural order', () => {
  const q1 = toggleSort(DEFAULT_QUERY, 'name');
  assert.equal(q1.desc, true);
  const q2 = toggleSort(q1, 'cpu');
  assert.deepEqual([q2.sort, q2.desc], ['cpu', true], 'figures start biggest first');
  const q3 = toggleSort(q2, 'pool');
  assert.deepEqual([q3.sort, q3.desc], ['pool', false]);
});

test('summary cards count the whole fleet; load and memory cover the agents that are up', () => {
  const s = summarize(fleet);
  assert.deepEqual(
    { ...s, avgCpu: Math.round(s.avgCpu ?? -1) },
    { total: 4, online: 2, busy: 1, offline: 1, avgCpu: 70, memoryMb: 300, errors: 3 },
  );
  assert.deepEqual(summarize([]), { total: 0, online: 0, busy: 0, offline: 0, avgCpu: null, memoryMb: null, errors: 0 });
});

test('filter menus list the pools and types present', () => {
  assert.deepEqual(facets(fleet), { pools: ['cpu', 'gpu'], types: ['trainer', 'worker'] });
});

test('10,000 agents sort and filter within a frame budget', () => {
  const many = Array.from({ length: 10_000 }, (_, i) => row(`agent-${i}`, { cpu_percent: (i * 37) % 100, pool_name: `p${i % 7}` }));
  const t0 = performance.now();
  const out = selectAgents(many, { ...DEFAULT_QUERY, sort: 'cpu', desc: true, pool: 'p3' });
  const ms = performance.now() - t0;
  assert.equal(out.length, Math.ceil((10_000 - 3) / 7));
  assert.ok(ms < 100, `took ${ms.toFixed(1)} ms`);
});
