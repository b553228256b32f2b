import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import { VigilClient, type VigilClientError, type VigilClientOptions } from '@vigil/agent';
import { systemClock } from '../src/clock.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';
import { tempDir } from './support/stores.js';

/**
 * The agent SDK against a real hub over real HTTP, and against scripted servers for the failure
 * modes a real hub cannot be made to show on demand: docs/reliability.md S1-S5 (CI-sized) and F3.
 */

const SDK_MODULE = new URL('../../../agent/dist/src/index.js', import.meta.url).href;

/** Runs an ES module script in a fresh node process; resolves with its stdout and how long it lived. */
function runScript(script: string): Promise<{ stdout: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 15_000 }, (err, stdout) =>
      err ? reject(err) : resolve({ stdout, ms: performance.now() - t0 }),
    );
  });
}

const RESOURCES = { resources: { cpu_cores_physical: 8, cpu_cores_available: 6, memory_available_gb: 12, gpu_type: 'none' as const } };
const HUB_FLAGS = ['--host-metrics-interval', '0'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, done: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!(await done())) {
    if (performance.now() > end) assert.fail(`timed out waiting for: ${what}`);
    await sleep(10);
  }
}

/** A client tuned for tests: short delays, fixed resources, no heartbeat after the first unless asked. */
function sdk(url: string, options: Partial<VigilClientOptions> = {}): { client: VigilClient; errors: VigilClientError[] } {
  const errors: VigilClientError[] = [];
  const client = new VigilClient({
    url,
    key: ADMIN_TOKEN,
    name: 'sdk test',
    agentType: 'code',
    collect: () => RESOURCES,
    interval: 60_000,
    flushDelayMs: 10,
    backoffBaseMs: 50,
    backoffCapMs: 400,
    requestTimeoutMs: 2000,
    onError: (e) => errors.push(e),
    ...options,
  });
  return { client, errors };
}

/** Every event of an agent, oldest first. */
async function eventsOf(hub: TestHub, agentId: string): Promise<any[]> {
  const all: any[] = [];
  let before: number | null = null;
  do {
    const page = await hub.call('GET', `/api/v1/events?agent_id=${agentId}&limit=500${before ? `&before=${before}` : ''}`);
    assert.equal(page.status, 200);
    all.push(...page.body.events);
    before = page.body.next_cursor;
  } while (before);
  return all.reverse();
}

const seqsOf = (events: any[]) => events.filter((e) => e.event_type === 'info').map((e) => e.metadata.seq as number);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** A port nothing listens on (for a hub that is down). */
async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

describe('agent SDK against a real hub', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub('sqlite', { clock: systemClock, flags: HUB_FLAGS });
  });
  after(async () => {
    await hub.close();
  });

  test('registers, heartbeats with resources, and delivers events, errors and traces with an agent key', async () => {
    const created = await hub.call('POST', '/api/v1/keys', { agent_id: 'sdk-basic', name: 'sdk test' });
    assert.equal(created.status, 201);
    const { client, errors } = sdk(hub.url, {
      key: created.body.key,
      agentId: 'sdk-basic',
      name: 'summariser',
      agentType: 'llm-worker',
      pool: 'gpu',
      capabilities: ['cuda', 'fp8'],
      metadata: { version: '1.2.3' },
      collect: () => ({ ...RESOURCES, metrics: { memory_mb: 64 } }),
      interval: 100,
    });
    client.countMessages(3);
    client.setStatus('busy');
    client.start();
    client.event('started', 'summariser ready', { pid: process.pid });
    client.error(new TypeError('model call failed', { cause: new Error('socket hang up') }), { job: 42 });
    client.error('a thrown string');
    client.trace({
      model: 'claude-sonnet-4',
      provider: 'anthropic',
      input_tokens: 1200,
      output_tokens: 300,
      cost_usd: 0.009,
      latency_ms: 2100,
      status: 'ok',
      trace_id: 'abc123',
      attributes: { prompt: 'summarise' },
    });

    await until('two heartbeats stored', async () => {
      const view = await hub.call('GET', '/api/monitoring/agents/sdk-basic');
      return view.status === 200 && view.body.metrics.length >= 2;
    });
    await until('everything recorded so far delivered', () => client.stats().queued === 0);

    const agent = (await hub.call('GET', '/api/v1/agents/sdk-basic')).body.agent;
    assert.equal(agent.name, 'summariser');
    assert.equal(agent.agent_type, 'llm-worker');
    assert.equal(agent.pool_name, 'gpu');
    assert.deepEqual(agent.capabilities, ['cuda', 'fp8']);
    assert.equal(agent.status, 'busy');
    assert.deepEqual(agent.resource_metrics, RESOURCES.resources);
    assert.equal(agent.memory_mb, 64);
    assert.equal(agent.message_count, 3);

    const events = await eventsOf(hub, 'sdk-basic');
    const started = events.find((e) => e.event_type === 'started');
    assert.equal(started.message, 'summariser ready');
    assert.deepEqual(started.metadata, { pid: process.pid });
    assert.match(started.event_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    const errs = (await hub.call('GET', '/api/v1/errors?agent_id=sdk-basic')).body.errors;
    const typeError = errs.find((e: any) => e.error_type === 'TypeError');
    assert.equal(typeError.message, 'model call failed');
    assert.match(typeError.stack_trace, /^TypeError: model call failed\n\s+at .*\n[\s\S]*Caused by: Error: socket hang up/);
    assert.equal(errs.find((e: any) => e.error_type === 'NonError').message, 'a thrown string');

    const traces = await hub.call('GET', '/api/v1/traces?agent_id=sdk-basic');
    assert.equal(traces.status, 200, 'the traces route (the lead is adding it)');
    assert.equal(traces.body.traces.length, 1);
    assert.equal(traces.body.traces[0].model, 'claude-sonnet-4');
    assert.equal(traces.body.traces[0].output_tokens, 300);

    assert.equal(await client.close({ timeoutMs: 2000 }), 0);
    const s = client.stats();
    assert.equal(s.delivered, s.recorded);
    assert.equal(s.dropped + s.droppedInvalid, 0);
    assert.deepEqual(errors, []);
  });

  test('the SDK never keeps a process alive by itself, and close() keeps it alive until the flush is over', async () => {
    const blackhole = createNetServer((socket) => socket.on('error', () => undefined).resume());
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const client = (url: string, agentId: string) =>
      `import { VigilClient } from ${JSON.stringify(SDK_MODULE)};
       const c = new VigilClient({ url: ${JSON.stringify(url)}, key: ${JSON.stringify(ADMIN_TOKEN)}, agentId: '${agentId}',
         name: 'script', agentType: 'code', collect: () => ({}) });
       c.start();
       for (let seq = 0; seq < 100; seq++) c.event('info', 'from a script', { seq });`;
    try {
      // A request is hanging on the blackhole (for up to 10 s) when the script's own work ends.
      const idle = await runScript(client(`http://127.0.0.1:${(blackhole.address() as AddressInfo).port}`, 'sdk-exit-1'));
      assert.ok(idle.ms < 3000, `the process lived ${idle.ms} ms`);
      const flushed = await runScript(`${client(hub.url, 'sdk-exit-2')}
        c.close({ timeoutMs: 5000 }).then((n) => console.log('undelivered', n));`);
      assert.equal(flushed.stdout.trim(), 'undelivered 0');
      assert.deepEqual(seqsOf(await eventsOf(hub, 'sdk-exit-2')), range(0, 100));
    } finally {
      blackhole.close();
    }
  });

  test("without a collect function, heartbeats carry the collector's figures for this process", async () => {
    const { client, errors } = sdk(hub.url, { agentId: 'sdk-collector', collect: undefined });
    client.start();
    await until('the first heartbeat delivered', () => client.stats().delivered === 1);
    assert.equal(await client.close({ timeoutMs: 2000 }), 0);
    const agent = (await hub.call('GET', '/api/v1/agents/sdk-collector')).body.agent;
    assert.ok(agent.resource_metrics.cpu_cores_physical > 0, JSON.stringify(agent.resource_metrics));
    assert.ok(agent.resource_metrics.memory_available_gb > 0);
    assert.ok(agent.memory_mb > 0, 'the process RSS');
    assert.deepEqual(errors, []);
  });

  test('without an agent id the hub assigns one, which the client keeps', async () => {
    const { client } = sdk(hub.url);
    client.start();
    await until('registered', () => client.agentId !== undefined);
    const id = client.agentId as string;
    assert.match(id, /^[0-9a-f-]{36}$/);
    client.event('info', 'hello', { seq: 0 });
    assert.equal(await client.close({ timeoutMs: 2000 }), 0);
    assert.deepEqual(seqsOf(await eventsOf(hub, id)), [0]);
  });

  test('S5: close() delivers 1,000 buffered events', async () => {
    const { client } = sdk(hub.url, { agentId: 'sdk-s5-up', flushDelayMs: 1000 });
    client.start();
    for (let seq = 0; seq < 1000; seq++) client.event('info', `event ${seq}`, { seq });
    assert.equal(await client.close({ timeoutMs: 2000 }), 0);
    assert.deepEqual(seqsOf(await eventsOf(hub, 'sdk-s5-up')), range(0, 1000));
  });

  test('F3: an agent clock an hour off is corrected onto the hub clock', async () => {
    for (const [agentId, skew] of [
      ['sdk-skew-ahead', 3_600_000],
      ['sdk-skew-behind', -3_600_000],
    ] as const) {
      const { client } = sdk(hub.url, { agentId, now: () => Date.now() + skew });
      client.start();
      client.event('info', 'skewed', { seq: 0 });
      assert.equal(await client.close({ timeoutMs: 2000 }), 0);
      assert.equal(client.stats().droppedInvalid, 0);
      const [event] = (await eventsOf(hub, agentId)).filter((e) => e.event_type === 'info');
      assert.ok(
        Math.abs(event.timestamp - event.received_at) < 5000,
        `${agentId}: stored ${event.timestamp - event.received_at} ms from receipt`,
      );
      assert.equal((await hub.call('GET', `/api/v1/agents/${agentId}`)).body.agent.status, 'online');
    }
  });

  test('a report the hub refuses is dropped alone; the rest of its batch is stored', async () => {
    const { client, errors } = sdk(hub.url, { agentId: 'sdk-invalid', flushDelayMs: 200 });
    client.start();
    for (let seq = 0; seq < 10; seq++) {
      // 101 metadata keys: over the hub's limit of 100.
      if (seq === 6) client.event('info', 'too much metadata', Object.fromEntries(range(0, 101).map((i) => [`k${i}`, i])));
      else client.event('info', `event ${seq}`, { seq });
    }
    assert.equal(await client.close({ timeoutMs: 3000 }), 0);
    assert.deepEqual(seqsOf(await eventsOf(hub, 'sdk-invalid')), [0, 1, 2, 3, 4, 5, 7, 8, 9]);
    assert.equal(client.stats().droppedInvalid, 1);
    assert.ok(errors.some((e) => e.code === 'invalid_items' && e.hub?.status === 400));
  });
});

describe('agent SDK across hub outages', () => {
  test('S1: hub down for 2 s while 50 events/s are recorded: all arrive once, in order', async () => {
    const dir = tempDir();
    const first = await startTestHub('sqlite', { clock: systemClock, dir: dir.path, flags: HUB_FLAGS });
    const port = new URL(first.url).port;
    const { client } = sdk(first.url, { agentId: 'sdk-s1', interval: 200, backoffBaseMs: 100, backoffCapMs: 300 });
    client.start();
    let seq = 0;
    const record = async (ms: number) => {
      for (const end = performance.now() + ms; performance.now() < end; await sleep(20))
        client.event('info', `event ${seq}`, { seq: seq++ });
    };
    await record(500);
    await first.stop();
    await record(2000);
    const second = await startTestHub('sqlite', {
      clock: systemClock,
      dir: dir.path,
      target: first.target,
      flags: [...HUB_FLAGS, '--port', port],
    });
    try {
      await record(500);
      const returned = performance.now();
      await until('the backlog delivered', () => client.stats().queued === 0, 10_000);
      assert.ok(performance.now() - returned < 5000);
      const events = await eventsOf(second, 'sdk-s1');
      assert.deepEqual(seqsOf(events), range(0, seq), 'every event once, in the order recorded');
      assert.equal(new Set(events.map((e) => e.event_id)).size, events.length);
      assert.ok(client.stats().retries > 0);
      assert.equal(await client.close({ timeoutMs: 2000 }), 0);
    } finally {
      await second.close();
    }
  });

  test('a hub whose database was reset: the client registers again by itself', async () => {
    const first = await startTestHub('sqlite', { clock: systemClock, flags: HUB_FLAGS });
    const port = new URL(first.url).port;
    const { client } = sdk(first.url, { name: 'phoenix' });
    client.start();
    client.event('info', 'before', { seq: 0 });
    await until('delivered to the first hub', () => client.stats().delivered >= 2);
    const id = client.agentId as string;
    await first.close();
    const second = await startTestHub('sqlite', { clock: systemClock, flags: [...HUB_FLAGS, '--port', port] });
    try {
      client.event('info', 'after', { seq: 1 });
      assert.equal(await client.close({ timeoutMs: 3000 }), 0);
      const agent = (await second.call('GET', `/api/v1/agents/${id}`)).body.agent;
      assert.equal(agent.name, 'phoenix', 'registered again under the same id');
      assert.deepEqual(seqsOf(await eventsOf(second, id)), [1]);
    } finally {
      await second.close();
    }
  });

  test('S2: overflow sheds heartbeats, then the oldest events; every report is delivered or counted', async () => {
    const port = await freePort();
    const { client } = sdk(`http://127.0.0.1:${port}`, { agentId: 'sdk-s2', interval: 20, maxBufferItems: 40, backoffCapMs: 100 });
    client.start();
    // 3x the bound while nothing is listening (the client never gets past registration, so nothing is in flight).
    for (let seq = 0; seq < 120; seq++) {
      client.event('info', `event ${seq}`, { seq });
      await sleep(5);
    }
    const whileDown = client.stats();
    assert.equal(whileDown.queued, 40);
    assert.equal(whileDown.droppedByKind.event, 80);
    assert.ok(whileDown.droppedByKind.heartbeat > 0);

    const hub = await startTestHub('sqlite', { clock: systemClock, flags: [...HUB_FLAGS, '--port', String(port)] });
    try {
      await until('the warning about drops delivered', async () => (await eventsOf(hub, 'sdk-s2')).some((e) => e.event_type === 'warning'));
      assert.equal(await client.close({ timeoutMs: 3000 }), 0);
      const s = client.stats();
      assert.equal(s.recorded, s.delivered + s.dropped + s.droppedInvalid, 'delivered + dropped == recorded, exactly');
      assert.equal(s.droppedInvalid, 0);

      const events = await eventsOf(hub, 'sdk-s2');
      assert.deepEqual(seqsOf(events), range(80, 120), 'the oldest events were shed');
      const warning = events.find((e) => e.event_type === 'warning');
      assert.equal(warning.message, `dropped ${80 + warning.metadata.dropped_heartbeats} items while the hub was unreachable`);
      assert.equal(warning.metadata.dropped_events, 80);
      const heartbeats = (await hub.call('GET', '/api/monitoring/agents/sdk-s2')).body.metrics.length;
      const eventsStored = events.filter((e) => e.event_type === 'info' || e.event_type === 'warning').length;
      assert.equal(heartbeats + eventsStored, s.delivered, 'the hub holds exactly what the client counts as delivered');
    } finally {
      await hub.close();
    }
  });

  test('S5: with the hub down, close() returns within its timeout and reports what was not delivered', async () => {
    const { client } = sdk(`http://127.0.0.1:${await freePort()}`);
    client.start();
    for (let seq = 0; seq < 1000; seq++) client.event('info', `event ${seq}`, { seq });
    const t0 = performance.now();
    const undelivered = await client.close({ timeoutMs: 500 });
    const took = performance.now() - t0;
    assert.ok(took < 600, `close took ${took} ms`);
    assert.ok(undelivered >= 1000, `undelivered ${undelivered}`);
    assert.equal(client.stats().dropped, undelivered);
  });
});

interface Seen {
  path: string;
  at: number;
  body: any;
}
type Answer = { status: number; headers?: Record<string, string>; body?: unknown };

/** An HTTP server that answers from a script, and records what it was sent and when. */
async function scriptedServer(answer: (path: string, n: number) => Answer) {
  const seen: Seen[] = [];
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString()));
    req.on('end', () => {
      const path = req.url ?? '';
      const a = answer(path, seen.filter((s) => s.path === path).length);
      seen.push({ path, at: performance.now(), body: JSON.parse(text) });
      res.writeHead(a.status, { 'content-type': 'application/json', ...a.headers });
      res.end(JSON.stringify(a.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    ingests: () => seen.filter((s) => s.path === '/api/v1/ingest'),
    gaps: () =>
      seen
        .filter((s) => s.path === '/api/v1/ingest')
        .map((s, i, all) => s.at - (all[i - 1]?.at ?? NaN))
        .slice(1),
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const registered: Answer = { status: 201, body: { created: true, agent: { agent_id: 'scripted-1' } } };
const stored: Answer = { status: 200, body: { accepted: {}, duplicates: 0, rejected: [], received_at: 0 } };
const refused = (status: number, code: string, headers?: Record<string, string>): Answer => ({
  status,
  headers,
  body: { error: { code, message: code } },
});

describe('agent SDK retry policy against a scripted server (S3)', () => {
  test('400: exactly one attempt, counted as dropped invalid', async () => {
    const server = await scriptedServer((path, n) =>
      path === '/api/v1/agents' ? registered : n === 0 ? stored : refused(400, 'VIGIL_VALIDATION'),
    );
    const { client, errors } = sdk(server.url, { agentId: 'scripted-1' });
    client.start();
    await until('the first heartbeat stored', () => server.ingests().length === 1 && client.stats().queued === 0);
    client.event('info', 'refused');
    await until('the event refused', () => client.stats().droppedInvalid === 1);
    await sleep(300);
    assert.equal(server.ingests().length, 2);
    assert.equal(client.stats().retries, 0);
    assert.equal(errors.at(-1)?.code, 'invalid_items');
    assert.equal(await client.close({ timeoutMs: 100 }), 0);
    await server.close();
  });

  test('503: exponential backoff, each gap at least 1.5x the one before, up to the cap', async () => {
    const server = await scriptedServer((path, n) =>
      path === '/api/v1/agents' ? registered : n < 5 ? refused(503, 'VIGIL_STORE_UNAVAILABLE') : stored,
    );
    const { client, errors } = sdk(server.url, { backoffBaseMs: 100, backoffCapMs: 300, random: () => 0 });
    client.start();
    await until('delivered after five refusals', () => client.stats().delivered === 1, 4000);
    const gaps = server.gaps();
    assert.equal(gaps.length, 5);
    const [g1, g2, g3, g4, g5] = gaps as [number, number, number, number, number];
    assert.ok(g1 >= 100 && g1 < 200, `first gap ${g1}`);
    assert.ok(g2 >= 1.5 * g1, `gaps ${gaps.join(', ')}`);
    for (const g of [g3, g4, g5]) assert.ok(g >= 300 && g < 400, `capped gaps ${gaps.join(', ')}`);
    assert.equal(client.stats().retries, 5);
    assert.ok(errors.every((e) => e.code === 'hub_unavailable' && e.transient));
    await client.close({ timeoutMs: 100 });
    await server.close();
  });

  test('429 with Retry-After: 1 waits a second; a garbage Retry-After falls back to the backoff', async () => {
    const server = await scriptedServer((path, n) => {
      if (path === '/api/v1/agents') return registered;
      if (n === 0) return refused(429, 'VIGIL_INGEST_QUEUE_FULL', { 'retry-after': '1' });
      if (n === 1) return refused(429, 'VIGIL_INGEST_QUEUE_FULL', { 'retry-after': 'soon' });
      return stored;
    });
    const { client } = sdk(server.url, { backoffBaseMs: 50 });
    client.start();
    await until('delivered', () => client.stats().delivered === 1, 4000);
    const [honoured, fallback] = server.gaps() as [number, number];
    assert.ok(honoured >= 1000 && honoured < 1300, `Retry-After: 1 gave a gap of ${honoured} ms`);
    assert.ok(fallback < 300, `garbage Retry-After gave a gap of ${fallback} ms (backoff from 50 ms)`);
    await client.close({ timeoutMs: 100 });
    await server.close();
  });

  test('401: stops sending, reports it, and probes with a registration once per blocked interval', async () => {
    let keyFixed = false;
    const server = await scriptedServer((path) => {
      if (keyFixed) return path === '/api/v1/agents' ? registered : stored;
      return path === '/api/v1/agents' ? registered : refused(401, 'VIGIL_UNAUTHORIZED');
    });
    const { client, errors } = sdk(server.url, { blockedRetryMs: 600 });
    client.start();
    await until('refused', () => client.stats().blocked);
    client.event('info', 'kept while blocked');
    const refusedAt = performance.now();
    await sleep(400);
    assert.equal(server.seen.length, 2, 'nothing more within the blocked interval');
    assert.equal(errors.at(-1)?.code, 'rejected_credentials');
    assert.equal(errors.at(-1)?.transient, false);
    keyFixed = true;
    await until('delivered once the key works', () => client.stats().delivered === 2);
    const probe = server.seen[2] as Seen;
    assert.equal(probe.path, '/api/v1/agents', 'the probe is a registration');
    assert.ok(probe.at - refusedAt >= 550, `probed after ${probe.at - refusedAt} ms`);
    assert.equal(client.stats().blocked, false);
    await client.close({ timeoutMs: 100 });
    await server.close();
  });

  test('404 agent not found: registers again and resends', async () => {
    const server = await scriptedServer((path, n) =>
      path === '/api/v1/agents' ? registered : n === 0 ? refused(404, 'VIGIL_AGENT_NOT_FOUND') : stored,
    );
    const { client } = sdk(server.url);
    client.start();
    await until('delivered', () => client.stats().delivered === 1);
    assert.deepEqual(
      server.seen.map((s) => s.path),
      ['/api/v1/agents', '/api/v1/ingest', '/api/v1/agents', '/api/v1/ingest'],
    );
    const [first, second] = server.ingests() as [Seen, Seen];
    assert.deepEqual(second.body, first.body, 'the same heartbeat, with the same event_id');
    await client.close({ timeoutMs: 100 });
    await server.close();
  });
});

describe('agent SDK against a blackholed hub (S4)', () => {
  let server: Server;
  const connections: { opened: number; closed?: number }[] = [];
  const sockets: Socket[] = [];
  before(async () => {
    // Accepts connections and reads requests, and never answers.
    server = createNetServer((socket) => {
      const c: { opened: number; closed?: number } = { opened: performance.now() };
      connections.push(c);
      sockets.push(socket);
      socket.on('close', () => (c.closed = performance.now()));
      socket.on('error', () => undefined);
      socket.resume();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  test('recording never blocks the agent, and each attempt aborts at the request timeout', async () => {
    const { client } = sdk(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { requestTimeoutMs: 300, interval: 50 });
    client.start();
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const took: number[] = [];
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 30; i++) {
        const t0 = performance.now();
        if (i % 3 === 0) client.event('info', `event ${round}.${i}`, { round, i });
        else if (i % 3 === 1) client.error(new Error(`failure ${round}.${i}`));
        else client.trace({ model: 'm', input_tokens: i, output_tokens: round, latency_ms: 5, status: 'ok' });
        took.push(performance.now() - t0);
      }
      await sleep(25);
    }
    lag.disable();
    took.sort((a, b) => a - b);
    const p99 = took[Math.floor(took.length * 0.99)] as number;
    assert.ok(p99 < 1, `p99 of a recording call: ${p99} ms`);
    assert.ok(lag.percentile(99) / 1e6 <= 20, `event-loop lag p99 ${lag.percentile(99) / 1e6} ms`);

    await until('two attempts over', () => connections.filter((c) => c.closed !== undefined).length >= 2);
    for (const c of connections.filter((x) => x.closed !== undefined)) {
      const held = (c.closed as number) - c.opened;
      assert.ok(held >= 280 && held < 600, `an attempt was held ${held} ms (timeout 300 ms)`);
    }

    const t0 = performance.now();
    const undelivered = await client.close({ timeoutMs: 300 });
    assert.ok(performance.now() - t0 < 400, `close took ${performance.now() - t0} ms`);
    assert.ok(undelivered >= 1200);
  });
});
