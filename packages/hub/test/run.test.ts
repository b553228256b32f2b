import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../src/clock.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';
import { startReceiver, type Receiver } from './support/alert-helpers.js';
import { tempDir } from './support/stores.js';
import { VIGIL } from './support/cli.js';

/**
 * `vigil run` end to end: the real binary wraps real child processes and reports them to a real
 * hub over HTTP (issue 3; docs/reliability.md I1 for the command line).
 */

interface Wrapped {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `vigil run` with the given options and command; resolves when it exits. */
function vigilRun(
  opts: string[],
  command: string[],
  extra: { stdin?: string; env?: NodeJS.ProcessEnv; onStart?: (pid: number) => void; cwd?: string } = {},
): Promise<Wrapped> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VIGIL, 'run', ...opts, '--', ...command], {
      env: { PATH: process.env.PATH, ...extra.env },
      cwd: extra.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    if (extra.onStart && child.pid) extra.onStart(child.pid);
    child.stdin.end(extra.stdin ?? '');
  });
}

const node = (script: string) => [process.execPath, '-e', script];

async function waitFor(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function eventsOf(
  hub: TestHub,
  agentId: string,
): Promise<{ event_type: string; message: string; metadata: Record<string, unknown> }[]> {
  const res = await hub.call('GET', `/api/v1/events?agent_id=${agentId}&limit=100`);
  assert.equal(res.status, 200);
  return [...res.body.events].reverse();
}

describe('vigil run against a real hub', () => {
  let hub: TestHub;
  let opts: (agentId: string) => string[];
  let receiver: Receiver;
  before(async () => {
    // The real clock: the wrapper stamps its reports with it, and the hub refuses future stamps.
    hub = await startTestHub('sqlite', { clock: systemClock, flags: ['--webhook-allow-private', 'true'] });
    receiver = await startReceiver();
    opts = (agentId) => ['--url', hub.url, '--key', ADMIN_TOKEN, '--agent-id', agentId, '--interval', '1', '--flush-timeout', '5'];
  });
  after(async () => {
    await hub.close();
    await receiver.close();
  });

  test('a command that exits 0: output passes through, started and stopped are reported, no error', async () => {
    const r = await vigilRun(opts('run-ok'), node('process.stdin.pipe(process.stdout); console.error("to stderr")'), {
      stdin: 'hello through stdin\n',
    });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'hello through stdin\n');
    assert.match(r.stderr, /to stderr/);
    const events = await eventsOf(hub, 'run-ok');
    const types = events.map((e) => e.event_type);
    assert.deepEqual(types.slice(0, 1), ['registered']);
    assert.ok(types.includes('started'), types.join());
    const stopped = events.find((e) => e.event_type === 'stopped');
    assert.equal(stopped?.metadata.exit_code, 0);
    assert.equal(typeof stopped?.metadata.duration_ms, 'number');
    const started = events.find((e) => e.event_type === 'started');
    assert.equal(typeof started?.metadata.pid, 'number');
    const errors = await hub.call('GET', '/api/v1/errors?agent_id=run-ok');
    assert.equal(errors.body.errors.length, 0);
    const agent = await hub.call('GET', '/api/v1/agents/run-ok');
    assert.equal(agent.body.agent.status, 'offline', 'a planned stop takes the agent offline at once');
  });

  test('a command that exits 3 after writing to stderr: exit code 3, a crash with code 3, an error log holding the stderr tail', async () => {
    const r = await vigilRun(opts('run-boom'), node('setTimeout(() => { console.error("boom"); process.exit(3); }, 1500)'));
    assert.equal(r.code, 3, r.stderr);
    assert.match(r.stderr, /boom/);
    const events = await eventsOf(hub, 'run-boom');
    assert.equal(events.find((e) => e.event_type === 'crashed')?.metadata.exit_code, 3);
    assert.equal(
      events.find((e) => e.event_type === 'stopped'),
      undefined,
      'an exit nobody asked for is not a planned stop',
    );
    const errors = await hub.call('GET', '/api/v1/errors?agent_id=run-boom');
    assert.equal(errors.body.errors.length, 1);
    const e = errors.body.errors[0];
    assert.equal(e.error_type, 'NonZeroExit');
    assert.match(e.message, /exited with code 3/);
    assert.match(e.stack_trace, /boom/);
    // It ran long enough for a heartbeat with real resources of this machine.
    const agent = await hub.call('GET', '/api/v1/agents/run-boom');
    const res = agent.body.agent.resource_metrics;
    assert.ok(res.cpu_cores_physical >= 1, JSON.stringify(res));
    assert.ok(res.memory_available_gb > 0, JSON.stringify(res));
    assert.ok(['nvidia', 'amd', 'intel', 'none'].includes(res.gpu_type));
    assert.equal(agent.body.agent.offline_reason, 'crashed');
  });

  test('a command killed by a signal: exit 128 + signal, an error naming the signal', async () => {
    const r = await vigilRun(opts('run-killed'), node('console.error("about to die"); process.kill(process.pid, "SIGKILL")'));
    assert.equal(r.code, 137);
    const events = await eventsOf(hub, 'run-killed');
    assert.equal(events.find((e) => e.event_type === 'crashed')?.metadata.signal, 'SIGKILL');
    const errors = await hub.call('GET', '/api/v1/errors?agent_id=run-killed');
    assert.equal(errors.body.errors[0]?.error_type, 'KilledBySignal');
    assert.match(errors.body.errors[0]?.stack_trace, /about to die/);
  });

  test('SIGTERM sent to vigil run reaches the command, which may exit cleanly', async () => {
    const script =
      'process.on("SIGTERM", () => { console.log("got SIGTERM"); process.exit(0); }); console.log("ready"); setInterval(() => {}, 1000);';
    let wrapperPid = 0;
    const done = vigilRun(opts('run-term'), node(script), { onStart: (pid) => (wrapperPid = pid) });
    // Wait until the hub has the started event, so the child is up and has its handler.
    for (let i = 0; i < 100; i++) {
      const events = await eventsOf(hub, 'run-term').catch(() => []);
      if (events.some((e) => e.event_type === 'started')) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 200));
    process.kill(wrapperPid, 'SIGTERM');
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /got SIGTERM/);
    const events = await eventsOf(hub, 'run-term');
    assert.equal(events.find((e) => e.event_type === 'stopped')?.metadata.exit_code, 0);
  });

  test('SIGTERM to vigil run that kills a command without a handler is a planned stop: no error, no crash', async () => {
    let wrapperPid = 0;
    const done = vigilRun(opts('run-term-kill'), node('console.log("ready"); setInterval(() => {}, 1000);'), {
      onStart: (pid) => (wrapperPid = pid),
    });
    await waitFor(async () => (await eventsOf(hub, 'run-term-kill').catch(() => [])).some((e) => e.event_type === 'started'));
    process.kill(wrapperPid, 'SIGTERM');
    const r = await done;
    assert.equal(r.code, 143, r.stderr);
    const events = await eventsOf(hub, 'run-term-kill');
    const stopped = events.find((e) => e.event_type === 'stopped');
    assert.equal(stopped?.metadata.signal, 'SIGTERM');
    assert.equal(stopped?.metadata.requested_by, 'SIGTERM');
    assert.equal(
      events.find((e) => e.event_type === 'crashed'),
      undefined,
    );
    assert.equal((await hub.call('GET', '/api/v1/errors?agent_id=run-term-kill')).body.errors.length, 0);
    assert.equal((await hub.call('GET', '/api/v1/agents/run-term-kill')).body.agent.offline_reason, 'stopped');
  });

  test('a Python crash: the error is titled by the exception, repeats group, and agent_crashed fires a webhook naming it', async () => {
    assert.equal((await hub.call('POST', '/api/v1/webhooks', { url: receiver.url })).status, 201);
    const script = (n: number) =>
      [
        'import sys',
        'def load(n):',
        `    raise MemoryError(f"cannot allocate {n} bytes")`,
        'print("working", flush=True)',
        `load(${n})`,
      ].join('\n');
    for (const n of [1500000000, 1600000000]) {
      const r = await vigilRun(opts('run-py'), ['python3', '-c', script(n)]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /Traceback/);
    }
    const errors = (await hub.call('GET', '/api/v1/errors?agent_id=run-py')).body.errors;
    assert.equal(errors.length, 1, 'two crashes with the same exception are one group');
    assert.equal(errors[0].error_type, 'MemoryError');
    assert.match(errors[0].message, /^cannot allocate \d+ bytes$/);
    assert.equal(errors[0].occurrences, 2);
    const crashed = (await eventsOf(hub, 'run-py')).filter((e) => e.event_type === 'crashed');
    assert.equal(crashed.length, 2);
    assert.equal(crashed[0]?.metadata.exception, 'MemoryError: cannot allocate 1500000000 bytes');
    assert.equal(crashed[0]?.metadata.runtime, 'python');
    const agent = (await hub.call('GET', '/api/v1/agents/run-py')).body.agent;
    assert.equal(agent.status, 'offline');
    assert.equal(agent.offline_reason, 'crashed');
    await waitFor(async () => {
      const alerts = (await hub.call('GET', '/api/v1/alerts?state=firing&agent_id=run-py')).body.alerts as { rule_name: string }[];
      return alerts.some((a) => a.rule_name === 'agent_crashed');
    });
    const [sent] = (await receiver.waitFor(1, 10_000)).filter((b) => b.alert.rule_name === 'agent_crashed');
    assert.equal(sent.event, 'firing');
    assert.equal(sent.alert.agent_id, 'run-py');
    assert.match(sent.detail, /crashed: MemoryError: cannot allocate \d+ bytes$/);
    assert.match(sent.text, /^\[CRITICAL\] agent_crashed: Agent run-py crashed .*MemoryError: cannot allocate/);
  });

  test('I1: shell metacharacters in the command line reach the program as plain arguments', async () => {
    const marker = `/tmp/vigil-pwned-${process.pid}`;
    rmSync(marker, { force: true });
    const hostile = [`$(touch ${marker})`, `\`touch ${marker}\``, `1; touch ${marker}`, `1 && touch ${marker}`, 'a; b'];
    const r = await vigilRun(opts('run-i1'), [...node('console.log(JSON.stringify(process.argv.slice(1)))'), ...hostile]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), hostile);
    assert.equal(existsSync(marker), false);
  });

  test('a command that cannot be started exits 127 with a message, and the failure is reported', async () => {
    const r = await vigilRun(opts('run-missing'), ['/nonexistent/vigil-no-such-program']);
    assert.equal(r.code, 127);
    assert.match(r.stderr, /cannot start/);
    const errors = await hub.call('GET', '/api/v1/errors?agent_id=run-missing');
    assert.equal(errors.body.errors.length, 1);
    const crashed = (await eventsOf(hub, 'run-missing')).find((e) => e.event_type === 'crashed');
    assert.equal(crashed?.metadata.phase, 'start');
    assert.equal(crashed?.metadata.code, 'ENOENT');
    const agent = (await hub.call('GET', '/api/v1/agents/run-missing')).body.agent;
    assert.equal(agent.offline_reason, 'failed_to_start', 'a clear failed state, not "offline after 3 intervals"');
  });

  test('bad options exit 2 with a clear message; --help after -- belongs to the command', async () => {
    const noCmd = await vigilRun(['--url', hub.url], []);
    assert.equal(noCmd.code, 2);
    assert.match(noCmd.stderr, /missing the command/);
    const badUrl = await vigilRun(['--url', 'ftp://x'], ['true']);
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.stderr, /--url must be an http/);
    const badInterval = await vigilRun(['--interval', '0'], ['true']);
    assert.equal(badInterval.code, 2);
    const help = await vigilRun(
      [...opts('run-help')],
      node('console.log(process.argv.includes("--help") ? "child saw --help" : "no")').concat('arg', '--help'),
    );
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /child saw --help/);
  });
});

test('the hub is down when the command starts: the command runs anyway and reports arrive once the hub is back', async () => {
  const dir = tempDir();
  const first = await startTestHub('sqlite', { clock: systemClock, dir: dir.path });
  const port = new URL(first.url).port;
  const target = first.target;
  await first.close();
  let hub: TestHub | undefined;
  try {
    const wrapped = vigilRun(
      ['--url', `http://127.0.0.1:${port}`, '--key', ADMIN_TOKEN, '--agent-id', 'run-outage', '--interval', '1', '--flush-timeout', '20'],
      node('setTimeout(() => { console.error("late failure"); process.exit(4); }, 1500)'),
    );
    await new Promise((r) => setTimeout(r, 2500));
    hub = await startTestHub('sqlite', { clock: systemClock, dir: dir.path, target, flags: ['--port', port] });
    const r = await wrapped;
    assert.equal(r.code, 4, r.stderr);
    const events = await eventsOf(hub, 'run-outage');
    const types = events.map((e) => e.event_type);
    assert.ok(types.includes('started') && types.includes('crashed'), types.join());
    const errors = await hub.call('GET', '/api/v1/errors?agent_id=run-outage');
    assert.match(errors.body.errors[0]?.stack_trace ?? '', /late failure/);
  } finally {
    await hub?.close();
    dir.remove();
  }
});
