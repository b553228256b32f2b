import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Agent, LiveMessage } from '../src/api/types.js';
import { FleetState } from '../src/fleet/fleet-state.js';
import { statusView } from '../src/ui/status.js';

function agent(id: string, over: Partial<Agent> = {}): Agent {
  return {
    agent_id: id,
    name: `name-${id}`,
    agent_type: 'worker',
    pool_name: 'default',
    capabilities: [],
    status: 'online',
    offline_reason: null,
    last_heartbeat_at: 1000,
    performance_score: 1,
    resource_metrics: {},
    resource_updated_at: {},
    metadata: {},
    heartbeat_interval_s: 15,
    registered_at: 500,
    updated_at: 1000,
    cpu_percent: 10,
    memory_mb: 100,
    message_count: 1,
    paused: false,
    last_llm_activity_at: null,
    last_telemetry_at: null,
    ...over,
  };
}

const beat = (id: string, at: number, cpu: number, extra: Partial<Extract<LiveMessage, { type: 'metrics_update' }>> = {}): LiveMessage => ({
  type: 'metrics_update',
  agent_id: id,
  status: 'online',
  resources: {},
  metrics: { cpu_percent: cpu },
  received_at: at,
  ...extra,
});

test('a heartbeat updates its row; an older one (reordered, or from a slow snapshot) is ignored', () => {
  const s = new FleetState();
  s.mergeSnapshot([agent('a')], new Map());
  assert.deepEqual(s.apply(beat('a', 2000, 55)), { kind: 'changed' });
  assert.equal(s.agents.get('a')?.cpu_percent, 55);
  assert.equal(s.agents.get('a')?.last_heartbeat_at, 2000);
  assert.deepEqual(s.apply(beat('a', 1500, 5)), { kind: 'ignored' });
  assert.equal(s.agents.get('a')?.cpu_percent, 55);
});

test('a heartbeat that leaves a figure out keeps the previous one, as the hub does', () => {
  const s = new FleetState();
  s.mergeSnapshot([agent('a', { resource_metrics: { gpu_vram_available_gb: 20 } })], new Map());
  s.apply(beat('a', 2000, 30, { metrics: {} }));
  const a = s.agents.get('a');
  assert.equal(a?.cpu_percent, 10);
  assert.equal(a?.memory_mb, 100);
  assert.equal(a?.resources.gpu_vram_available_gb, 20, 'empty resources keep the last dict');
  s.apply(beat('a', 3000, 30, { metrics: {}, resources: { cpu_percent: 70 } }));
  assert.equal(s.agents.get('a')?.cpu_percent, 70, 'the host CPU stands in when the process sent none');
});

test('a snapshot older than what the feed delivered keeps the live figures but takes the new details', () => {
  const s = new FleetState();
  s.mergeSnapshot([agent('a')], new Map());
  s.apply(beat('a', 5000, 90));
  s.mergeSnapshot([agent('a', { name: 'renamed', last_heartbeat_at: 4000, cpu_percent: 1 })], new Map([['a', 3]]));
  const a = s.agents.get('a');
  assert.equal(a?.cpu_percent, 90);
  assert.equal(a?.last_heartbeat_at, 5000);
  assert.equal(a?.name, 'renamed');
  assert.equal(a?.error_count, 3);
});

test('an agent registered live appears at once by id and is marked for fetching', () => {
  const s = new FleetState();
  const effect = s.apply({ type: 'agent_status', agent_id: 'new', status: 'online', reason: 'registered', at: 10, pool_name: 'gpu' });
  assert.deepEqual(effect, { kind: 'unknown-agent', agentId: 'new' });
  assert.equal(s.agents.get('new')?.partial, true);
  assert.equal(s.agents.get('new')?.pool_name, 'gpu');
  s.mergeSnapshot([agent('new', { last_heartbeat_at: 10 })], new Map());
  assert.equal(s.agents.get('new')?.partial, false);
  assert.equal(s.agents.get('new')?.name, 'name-new');
  assert.deepEqual(s.apply(beat('ghost', 1, 1)), { kind: 'unknown-agent', agentId: 'ghost' });
});

test('status changes: stopped and missed heartbeats go offline with their reason; a heartbeat clears it', () => {
  const s = new FleetState();
  s.mergeSnapshot([agent('a')], new Map());
  s.apply({ type: 'agent_status', agent_id: 'a', status: 'offline', reason: 'missed_heartbeats', at: 3000 });
  assert.equal(s.agents.get('a')?.status, 'offline');
  assert.equal(s.agents.get('a')?.offline_reason, 'missed_heartbeats');
  assert.equal(s.agents.get('a')?.last_heartbeat_at, 1000, 'going offline is not a sign of life');
  s.apply(beat('a', 4000, 1));
  assert.equal(s.agents.get('a')?.status, 'online');
  assert.equal(s.agents.get('a')?.offline_reason, null);
});

test('error counts: each report adds one; resolving a group seen live subtracts its occurrences, else asks for a recount', () => {
  const s = new FleetState();
  s.mergeSnapshot([agent('a')], new Map([['a', 2]]));
  s.apply({ type: 'error', id: 7, agent_id: 'a', error_type: 'E', message: 'm', occurrences: 1, received_at: 1 });
  s.apply({ type: 'error', id: 7, agent_id: 'a', error_type: 'E', message: 'm', occurrences: 2, received_at: 2 });
  assert.equal(s.agents.get('a')?.error_count, 4);
  assert.deepEqual(s.apply({ type: 'error_resolved', id: 7, agent_id: 'a', resolved_at: 3 }), { kind: 'changed' });
  assert.equal(s.agents.get('a')?.error_count, 2);
  assert.deepEqual(s.apply({ type: 'error_resolved', id: 1, agent_id: 'a', resolved_at: 4 }), { kind: 'recount-errors' });
  s.setErrorCounts(new Map());
  assert.equal(s.agents.get('a')?.error_count, 0);
});

test('a reopen asks for a recount, and forgets the sizes it kept for the ids involved', () => {
  const s = new FleetState();
  s.mergeSnapshot([agent('a')], new Map([['a', 1]]));
  s.apply({ type: 'error', id: 9, agent_id: 'a', error_type: 'E', message: 'm', occurrences: 1, received_at: 1 });
  const open = { id: 9, agent_id: 'a', occurrences: 4 } as Extract<LiveMessage, { type: 'error_reopened' }>['error'];
  assert.deepEqual(s.apply({ type: 'error_reopened', agent_id: 'a', error: open, removed_id: 3, reopened_at: 2 }), {
    kind: 'recount-errors',
  });
  // Group 9 now holds 4 occurrences, not the 1 seen live: resolving it must recount, not subtract 1.
  assert.deepEqual(s.apply({ type: 'error_resolved', id: 9, agent_id: 'a', resolved_at: 3 }), { kind: 'recount-errors' });
  assert.equal(s.agents.get('a')?.error_count, 2, 'nothing subtracted before the recount');
});

test('events and alerts do not touch the rows', () => {
  const s = new FleetState();
  s.mergeSnapshot([agent('a')], new Map());
  const e: LiveMessage = { type: 'event', id: 1, agent_id: 'a', event_type: 'info', message: 'x', metadata: {}, received_at: 9 };
  assert.deepEqual(s.apply(e), { kind: 'ignored' });
});

test('a deleted agent leaves the overview, and a snapshot fetched before the deletion does not bring it back', () => {
  const s = new FleetState();
  s.mergeSnapshot([agent('a'), agent('gone')], new Map([['gone', 2]]));
  assert.deepEqual(s.apply({ type: 'agent_removed', agent_id: 'gone', at: 2000 }), { kind: 'changed' });
  assert.deepEqual([...s.agents.keys()], ['a']);
  s.mergeSnapshot([agent('a'), agent('gone')], new Map());
  assert.deepEqual([...s.agents.keys()], ['a'], 'a stale snapshot page');
  assert.deepEqual(s.apply(beat('gone', 3000, 5)), { kind: 'unknown-agent', agentId: 'gone' });
  assert.equal(s.agents.has('gone'), false, 'a late heartbeat shows nothing by itself');
  assert.deepEqual(s.apply({ type: 'agent_removed', agent_id: 'gone', at: 2000 }), { kind: 'ignored' });
  // Registered again (by a key that may): it is a new agent, shown again.
  s.apply({ type: 'agent_status', agent_id: 'gone', status: 'online', reason: 'registered', at: 4000 });
  s.mergeSnapshot([agent('gone', { name: 'reborn', last_heartbeat_at: 4000 })], new Map());
  assert.equal(s.agents.get('gone')?.name, 'reborn');
});

test('a rename or a pause updates the row; a paused agent reads as paused whatever its status', () => {
  const s = new FleetState();
  s.mergeSnapshot([agent('a', { status: 'offline', offline_reason: 'missed_heartbeats' })], new Map());
  assert.equal(s.agents.get('a')?.paused, false);
  assert.deepEqual(s.apply({ type: 'agent_updated', agent_id: 'a', name: 'old box', paused: true, at: 2000 }), { kind: 'changed' });
  assert.deepEqual([s.agents.get('a')?.name, s.agents.get('a')?.paused], ['old box', true]);
  const row = s.agents.get('a');
  const view = statusView(row?.status ?? 'online', row?.offline_reason, row?.paused);
  assert.deepEqual([view.kind, view.label], ['paused', 'paused']);
  assert.match(view.title, /no alert fires for it \(now silent\)/);
  assert.deepEqual(s.apply({ type: 'agent_updated', agent_id: 'x', name: 'x', paused: false, at: 1 }), {
    kind: 'unknown-agent',
    agentId: 'x',
  });
});

test('llm_activity marks the agent busy at the hub time it carries; an older message never moves it back', () => {
  const f = new FleetState();
  f.mergeSnapshot([agent('a')], new Map());
  const msg = (at: number): LiveMessage => ({
    type: 'llm_activity',
    agent_id: 'a',
    calls: 1,
    input_tokens: 10,
    output_tokens: 2,
    cost_usd: 0.01,
    at,
  });
  assert.deepEqual(f.apply(msg(5000)), { kind: 'changed' });
  assert.equal(f.agents.get('a')?.last_llm_activity_at, 5000);
  f.apply(msg(4000));
  assert.equal(f.agents.get('a')?.last_llm_activity_at, 5000);
  const stranger: LiveMessage = {
    type: 'llm_activity',
    agent_id: 'unknown',
    calls: 1,
    input_tokens: 1,
    output_tokens: 1,
    cost_usd: 0,
    at: 6000,
  };
  assert.deepEqual(f.apply(stranger), { kind: 'unknown-agent', agentId: 'unknown' });
});
