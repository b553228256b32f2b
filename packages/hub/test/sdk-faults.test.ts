import assert from 'node:assert/strict';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { VigilClient } from '@vigil/agent';
import { systemClock } from '../src/clock.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';

/**
 * docs/reliability.md F1 (partition) and F2 (latency and connection resets), CI-sized: a real SDK
 * talks to a real hub through a TCP proxy that can blackhole, delay or reset the traffic.
 */

type Mode = { kind: 'pass' } | { kind: 'blackhole' } | { kind: 'faulty'; delayMs: number; resetEvery: number };

/** A TCP proxy whose behaviour can be switched while connections are open. */
class FaultProxy {
  mode: Mode = { kind: 'pass' };
  resets = 0;
  private chunks = 0;
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly target: { host: string; port: number }) {
    this.server = createServer((client) => this.accept(client));
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Cuts every open connection without a word, as a partition would leave them. */
  partition(): void {
    this.mode = { kind: 'blackhole' };
  }

  heal(): void {
    this.mode = { kind: 'pass' };
    // Connections opened during the partition were never forwarded; drop them so clients retry.
    for (const s of this.sockets) s.destroy();
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: Socket): void {
    this.sockets.add(client);
    client.on('close', () => this.sockets.delete(client));
    client.on('error', () => undefined);
    if (this.mode.kind === 'blackhole') {
      client.resume(); // accept and swallow, never answer
      return;
    }
    const upstream = connect(this.target.port, this.target.host);
    this.sockets.add(upstream);
    upstream.on('close', () => (this.sockets.delete(upstream), client.destroy()));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    const forward = (from: Socket, to: Socket) =>
      from.on('data', (chunk: Buffer) => {
        const mode = this.mode;
        if (mode.kind === 'blackhole') return;
        // Every nth chunk, not a random share: the test must see resets on every run.
        if (mode.kind === 'faulty' && ++this.chunks % mode.resetEvery === 0) {
          this.resets++;
          client.resetAndDestroy();
          upstream.destroy();
          return;
        }
        const delay = mode.kind === 'faulty' ? mode.delayMs : 0;
        if (delay === 0) to.write(chunk);
        else setTimeout(() => to.writable && to.write(chunk), delay);
      });
    forward(client, upstream);
    forward(upstream, client);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  while (!(await done())) {
    if (performance.now() - t0 > timeoutMs) assert.fail(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(20);
  }
  return performance.now() - t0;
}

async function eventsOf(hub: TestHub, agentId: string): Promise<{ event_type: string; metadata: Record<string, unknown> }[]> {
  const all: { event_type: string; metadata: Record<string, unknown> }[] = [];
  let cursor: number | null = null;
  do {
    const page = await hub.call('GET', `/api/v1/events?agent_id=${agentId}&limit=500${cursor ? `&before=${cursor}` : ''}`);
    all.push(...page.body.events);
    cursor = page.body.next_cursor;
  } while (cursor);
  return all.reverse();
}

describe('the SDK through network faults', () => {
  let hub: TestHub;
  let sweeper: NodeJS.Timeout;
  before(async () => {
    hub = await startTestHub('sqlite', { clock: systemClock, flags: ['--host-metrics-interval', '0'] });
    // The hub's own sweep runs every 5 s; sweep often so offline is seen at its true time.
    sweeper = setInterval(() => void hub.liveness.sweep().catch(() => undefined), 100);
  });
  after(async () => {
    clearInterval(sweeper);
    await hub.close();
  });

  test('F1: a partition takes the agent offline once, healing brings it back once, and nothing recorded is lost', async () => {
    const target = new URL(hub.url);
    const proxy = new FaultProxy({ host: target.hostname, port: Number(target.port) });
    const url = await proxy.listen();
    const intervalMs = 1000;
    const client = new VigilClient({
      url,
      key: ADMIN_TOKEN,
      agentId: 'f1-agent',
      name: 'f1',
      agentType: 'code',
      interval: intervalMs,
      collect: () => ({ resources: { gpu_type: 'none' } }),
      flushDelayMs: 20,
      requestTimeoutMs: 500,
      onError: () => undefined,
    });
    try {
      client.start();
      await until('online', async () => (await hub.call('GET', '/api/v1/agents/f1-agent')).body.agent?.status === 'online', 5000);

      proxy.partition();
      const partitionedAt = performance.now();
      let seq = 0;
      const recorder = setInterval(() => client.event('info', 'during partition', { seq: seq++ }), 50);
      // missed × interval + one sweep: the hub's clock decides, the agent's silence is the only signal.
      const offlineAfter = await until(
        'offline',
        async () => (await hub.call('GET', '/api/v1/agents/f1-agent')).body.agent.status === 'offline',
        3 * intervalMs + intervalMs + 1000,
      );
      assert.ok(offlineAfter <= 3 * intervalMs + intervalMs + 500, `offline after ${offlineAfter} ms`);
      await sleep(Math.max(0, 5000 - (performance.now() - partitionedAt)));
      clearInterval(recorder);

      proxy.heal();
      const onlineAfter = await until(
        'back online',
        async () => (await hub.call('GET', '/api/v1/agents/f1-agent')).body.agent.status === 'online',
        intervalMs + 2000,
      );
      assert.ok(onlineAfter <= intervalMs + 1500, `back online after ${onlineAfter} ms`);
      await until('every event delivered', () => client.stats().queued === 0, 10_000);

      const events = await eventsOf(hub, 'f1-agent');
      assert.equal(events.filter((e) => e.event_type === 'offline').length, 1, 'exactly one offline event');
      assert.equal(events.filter((e) => e.event_type === 'online').length, 1, 'exactly one online event');
      const seqs = events.filter((e) => e.event_type === 'info').map((e) => e.metadata.seq as number);
      assert.deepEqual(
        [...seqs].sort((a, b) => a - b),
        Array.from({ length: seq }, (_, i) => i),
        'every event recorded during the partition, once',
      );
    } finally {
      await client.close({ timeoutMs: 1000 });
      await proxy.close();
    }
  });

  test('F2: added latency and connection resets lose nothing and duplicate nothing', async () => {
    const target = new URL(hub.url);
    const proxy = new FaultProxy({ host: target.hostname, port: Number(target.port) });
    const url = await proxy.listen();
    const client = new VigilClient({
      url,
      key: ADMIN_TOKEN,
      agentId: 'f2-agent',
      name: 'f2',
      agentType: 'code',
      interval: 60_000,
      collect: () => ({ resources: { gpu_type: 'none' } }),
      flushDelayMs: 20,
      maxBatchItems: 20,
      backoffBaseMs: 50,
      backoffCapMs: 500,
      requestTimeoutMs: 2000,
      onError: () => undefined,
    });
    try {
      client.start();
      proxy.mode = { kind: 'faulty', delayMs: 200, resetEvery: 7 };
      const total = 400;
      for (let seq = 0; seq < total; seq++) {
        client.event('info', 'under faults', { seq });
        if (seq % 20 === 19) await sleep(100);
      }
      await sleep(1000);
      proxy.mode = { kind: 'pass' };
      await until('every event delivered', () => client.stats().queued === 0, 20_000);
      const seqs = (await eventsOf(hub, 'f2-agent')).filter((e) => e.event_type === 'info').map((e) => e.metadata.seq as number);
      assert.equal(seqs.length, total, `stored ${seqs.length} of ${total} (0 lost, 0 duplicated)`);
      assert.deepEqual(
        [...seqs].sort((a, b) => a - b),
        Array.from({ length: total }, (_, i) => i),
      );
      assert.ok(proxy.resets > 0, 'the proxy really reset connections');
      assert.equal(client.stats().dropped, 0);
    } finally {
      await client.close({ timeoutMs: 1000 });
      await proxy.close();
    }
  });
});
