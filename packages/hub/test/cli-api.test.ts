import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../src/config/config.js';
import { createLogger, startHub, type Hub } from '../src/main.js';
import { vigil } from './support/cli.js';
import { tempDir } from './support/stores.js';

/**
 * The terminal commands over the HTTP API (docs/cli.md), run as the real `vigil` binary against a real
 * hub with real agents registered through the API: tables for people, --json for scripts, exit codes.
 */

const dir = tempDir();
let hub: Hub;
let token: string;
/** The environment every run gets: the hub's URL and its data directory, whose admin token is the default key. */
let env: NodeJS.ProcessEnv;

async function call(method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(hub.url + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await res.json();
  assert.ok(res.ok, `${method} ${path}: ${res.status} ${JSON.stringify(answer)}`);
  return answer;
}

before(async () => {
  // No --admin-token: the hub generates one into the data directory, where the CLI finds it by default.
  const config = loadConfig(['--port', '0', '--data-dir', dir.path, '--otlp-grpc-port', '0', '--host-metrics-interval', '0'], {});
  hub = await startHub(config, { logger: createLogger('silent') });
  token = readFileSync(join(dir.path, 'admin-token'), 'utf8').trim();
  env = { VIGIL_URL: hub.url, VIGIL_DATA_DIR: dir.path };
  const agents = [
    { agent_id: 'gpu-1', name: 'big box', agent_type: 'trainer', pool_name: 'gpu' },
    { agent_id: 'gpu-2', name: 'small box', agent_type: 'trainer', pool_name: 'gpu' },
    { agent_id: 'cpu-1', name: 'summariser', agent_type: 'llm', pool_name: 'default' },
  ];
  for (const a of agents) await call('POST', '/api/v1/agents', a);
  await call('POST', '/api/v1/alert-rules', { name: 'cli hot', metric: 'cpu_percent', op: '>', threshold: 90, for_seconds: 0 });
  const resources = {
    'gpu-1': { cpu_percent: 92.5, cpu_cores_available: 12, memory_available_gb: 48, gpu_vram_total_gb: 24, gpu_vram_available_gb: 20 },
    'gpu-2': { cpu_percent: 10, cpu_cores_available: 2, memory_available_gb: 8, gpu_vram_total_gb: 8, gpu_vram_available_gb: 6 },
    'cpu-1': { cpu_percent: 5, cpu_cores_available: 6, memory_available_gb: 16 },
  };
  for (const [id, r] of Object.entries(resources)) await call('POST', `/api/v1/agents/${id}/heartbeat`, { status: 'online', resources: r });
  await call('POST', '/api/v1/agents/cpu-1/errors', { error_type: 'TimeoutError', message: 'upstream timed out\nafter 30 s' });
  const resolved = await call('POST', '/api/v1/agents/gpu-2/errors', { error_type: 'OOM', message: 'out of memory' });
  await call('POST', `/api/v1/errors/${resolved.id}/resolve`);
  await call('POST', '/api/v1/agents/cpu-1/traces', {
    model: 'claude-sonnet-4',
    input_tokens: 1200,
    output_tokens: 300,
    cost_usd: 0.0123,
    latency_ms: 850,
    status: 'ok',
  });
  await hub.alerts.tick();
});

after(async () => {
  await hub.stop();
  dir.remove();
});

/** The table's rows as cells (two or more spaces apart), header first. */
const rows = (stdout: string) =>
  stdout
    .trimEnd()
    .split('\n')
    .map((l) => l.trim().split(/ {2,}/));

test('vigil agents prints the fleet as an aligned table, filters by pool, and --json gives the API objects', async () => {
  const r = await vigil(['agents'], env);
  assert.equal(r.code, 0, r.stderr);
  const [head, ...body] = rows(r.stdout);
  assert.deepEqual(head, ['AGENT', 'NAME', 'TYPE', 'POOL', 'STATUS', 'CPU%', 'MEM MB', 'VRAM FREE GB', 'LAST HEARTBEAT']);
  assert.deepEqual(
    body.map((c) => c.slice(0, 5)),
    [
      ['cpu-1', 'summariser', 'llm', 'default', 'online'],
      ['gpu-1', 'big box', 'trainer', 'gpu', 'online'],
      ['gpu-2', 'small box', 'trainer', 'gpu', 'online'],
    ],
  );
  // Aligned: every line puts the STATUS column at the same offset.
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(new Set(lines.map((l, i) => l.indexOf(i === 0 ? 'STATUS' : 'online'))).size, 1);
  assert.match(lines[2] as string, /gpu-1 .* 92\.5 .* 20 +\d+s ago$/);

  const pool = await vigil(['agents', '--pool', 'gpu', '--json'], env);
  assert.equal(pool.code, 0, pool.stderr);
  const agents = JSON.parse(pool.stdout) as { agent_id: string; resource_metrics: Record<string, number> }[];
  assert.deepEqual(
    agents.map((a) => a.agent_id),
    ['gpu-1', 'gpu-2'],
  );
  assert.equal(agents[0]?.resource_metrics.gpu_vram_available_gb, 20);
  assert.equal((await vigil(['agents', '--status', 'offline'], env)).stdout, 'no agents\n');
  const bad = await vigil(['agents', '--status', 'asleep'], env);
  assert.deepEqual([bad.code, bad.stderr], [2, 'vigil: --status must be one of online, offline, busy\n']);
});

test('vigil agent ID prints one agent; an unknown one exits 1 with the hub error, a malformed one exits 2', async () => {
  const r = await vigil(['agent', 'gpu-1'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^agent: +gpu-1$/m);
  assert.match(r.stdout, /^pool: +gpu$/m);
  assert.match(r.stdout, /^gpu: +20\/24 GB free$/m);
  assert.match(r.stdout, /^host: +CPU 92\.5%, cores free 12, memory free 48 GB$/m, 'only the figures it reported');
  const json = JSON.parse((await vigil(['agent', 'cpu-1', '--json'], env)).stdout) as { agent_id: string; llm_totals: { calls: number } };
  assert.equal(json.agent_id, 'cpu-1');
  assert.equal(json.llm_totals.calls, 1);

  const missing = await vigil(['agent', 'nobody'], env);
  assert.equal(missing.code, 1);
  assert.equal(missing.stderr, 'vigil: VIGIL_AGENT_NOT_FOUND: No such agent (404)\n');
  assert.equal(missing.stdout, '');
  const malformed = await vigil(['agent', '../etc'], env);
  assert.equal(malformed.code, 2);
  assert.equal((await vigil(['agent'], env)).code, 2);
});

test('vigil errors lists error groups one line each; --open leaves the resolved out', async () => {
  const all = await vigil(['errors'], env);
  assert.equal(all.code, 0, all.stderr);
  const [head, ...body] = rows(all.stdout);
  assert.deepEqual(head, ['ID', 'AGENT', 'TYPE', 'COUNT', 'LAST SEEN', 'STATE', 'MESSAGE']);
  assert.deepEqual(
    body.map((c) => [c[1], c[2], c[5], c[6]]),
    [
      ['gpu-2', 'OOM', 'resolved', 'out of memory'],
      ['cpu-1', 'TimeoutError', 'open', 'upstream timed out after 30 s'],
    ],
    'newest first, a multi-line message on one line',
  );
  const open = JSON.parse((await vigil(['errors', '--open', '--json'], env)).stdout) as { agent_id: string; resolved: boolean }[];
  assert.deepEqual(
    open.map((e) => [e.agent_id, e.resolved]),
    [['cpu-1', false]],
  );
  const limit = await vigil(['errors', '--limit', '0'], env);
  assert.deepEqual([limit.code, limit.stderr], [2, 'vigil: --limit must be an integer from 1 to 500\n']);
});

test('vigil alerts lists alerts and filters by state; vigil alerts rules still works on the database', async () => {
  const firing = await vigil(['alerts', '--state', 'firing'], env);
  assert.equal(firing.code, 0, firing.stderr);
  const [head, ...body] = rows(firing.stdout);
  assert.deepEqual(head, ['ID', 'STATE', 'SEVERITY', 'RULE', 'AGENT', 'VALUE', 'SINCE', 'MESSAGE']);
  assert.ok(
    body.some((c) => c[3] === 'cli hot' && c[4] === 'gpu-1' && c[5] === '92.5'),
    firing.stdout,
  );
  assert.ok(body.every((c) => c[1] === 'firing'));
  const json = JSON.parse((await vigil(['alerts', '--json', '--agent', 'gpu-2'], env)).stdout) as unknown[];
  assert.deepEqual(json, []);
  assert.equal((await vigil(['alerts', '--state', 'resolved'], env)).stdout, 'no resolved alerts\n');

  const rules = await vigil(['alerts', 'rules', 'list', '--data-dir', dir.path]);
  assert.equal(rules.code, 0, rules.stderr);
  assert.match(rules.stdout, /cli hot: cpu_percent > 90 for 0 s/);
});

test('vigil capacity finds the agents with room for a job, best fit first', async () => {
  const r = await vigil(['capacity', '--gpu-vram', '16', '--cpu', '4'], env);
  assert.equal(r.code, 0, r.stderr);
  const [head, ...body] = rows(r.stdout);
  assert.deepEqual(head, ['AGENT', 'NAME', 'POOL', 'CORES FREE', 'MEM FREE GB', 'VRAM FREE GB', 'GPUS THAT FIT']);
  assert.deepEqual(
    body.map((c) => c.slice(0, 6)),
    [['gpu-1', 'big box', 'gpu', '12', '48', '20']],
  );
  const cpu = JSON.parse((await vigil(['capacity', '--cpu', '4', '--pool', 'default', '--json'], env)).stdout) as { agent_id: string }[];
  assert.deepEqual(
    cpu.map((a) => a.agent_id),
    ['cpu-1'],
  );
  assert.equal((await vigil(['capacity', '--gpu-vram', '100'], env)).stdout, 'no online agent has that much room\n');
  const bad = await vigil(['capacity', '--gpu-vram', 'lots'], env);
  assert.deepEqual([bad.code, bad.stderr], [2, 'vigil: --gpu-vram must be a number of at least 0, not "lots"\n']);
});

test('vigil traces and vigil usage show the LLM calls and their totals', async () => {
  const traces = await vigil(['traces'], env);
  assert.equal(traces.code, 0, traces.stderr);
  const [head, row] = rows(traces.stdout);
  assert.deepEqual(head, ['ID', 'WHEN', 'AGENT', 'MODEL', 'IN TOK', 'OUT TOK', 'COST', 'LATENCY MS', 'STATUS']);
  assert.deepEqual(row?.slice(2), ['cpu-1', 'claude-sonnet-4', '1200', '300', '$0.01', '850', 'ok']);

  const usage = await vigil(['usage', '--by', 'model'], env);
  assert.equal(usage.code, 0, usage.stderr);
  assert.deepEqual(rows(usage.stdout), [
    ['MODEL', 'CALLS', 'ERRORS%', 'IN TOK', 'OUT TOK', 'COST', 'P50 MS', 'P95 MS'],
    ['claude-sonnet-4', '1', '0', '1200', '300', '$0.01', '850', '850'],
  ]);
  const json = JSON.parse((await vigil(['usage', '--by', 'pool', '--since', '7d', '--json'], env)).stdout) as {
    group_by: string;
    from: number;
    to: number;
    groups: { key: string; cost_usd: number }[];
  };
  assert.equal(json.group_by, 'pool');
  assert.ok(json.to - json.from === 7 * 86_400_000, 'the span is --since');
  assert.deepEqual(
    json.groups.map((g) => [g.key, g.cost_usd]),
    [['default', 0.0123]],
  );
  const wide = await vigil(['usage', '--since', '40d'], env);
  assert.equal(wide.code, 1, 'the hub refuses the range: a request error');
  assert.match(wide.stderr, /^vigil: VIGIL_RANGE_TOO_WIDE: from\.\.to may span at most 31 days \(400\)\n$/);
});

test('keys: --key and VIGIL_KEY win over the local admin token; a wrong key is the hub refusing (exit 1)', async () => {
  const wrong = await vigil(['agents', '--key', 'vgl_not_a_key_at_all_0000'], env);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /^vigil: VIGIL_UNAUTHORIZED: .*\(401\)\n$/);
  assert.equal((await vigil(['agents'], { ...env, VIGIL_KEY: token })).code, 0);
  // No data directory with a token, no key: a usage error that says what to set.
  const none = await vigil(['agents'], { VIGIL_URL: hub.url, VIGIL_DATA_DIR: join(dir.path, 'nowhere') });
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no key: set VIGIL_KEY or pass --key/);
  // The local admin token is never sent to another machine.
  const remote = await vigil(['agents', '--url', 'http://hub.example:7070'], env);
  assert.equal(remote.code, 2);
  assert.match(remote.stderr, /sent only to a hub on this machine/);
});

test('an unreachable hub exits 3, a bad --url exits 2, each naming what is wrong', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  const url = `http://127.0.0.1:${port}`;
  for (const cmd of [['agents'], ['agent', 'gpu-1'], ['errors'], ['alerts'], ['capacity', '--cpu', '1'], ['traces'], ['usage']]) {
    const r = await vigil(cmd, { VIGIL_URL: url, VIGIL_KEY: token });
    assert.equal(r.code, 3, cmd.join(' '));
    assert.equal(r.stderr, `vigil: cannot reach the hub at ${url}: ECONNREFUSED\n`, cmd.join(' '));
  }
  const bad = await vigil(['agents', '--url', 'ftp://x'], env);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--url \/ VIGIL_URL: "ftp:\/\/x" must be an http:\/\/ or https:\/\/ URL/);
});

test("each API command's --help is its own: its usage line, the client settings and the exit codes", async () => {
  const own: [string, RegExp][] = [
    ['agents', /^vigil agents \[--status online\|offline\|busy\] \[--pool NAME\] \[--type TYPE\]/],
    ['agent', /^vigil agent ID \[--json\] \[options\]: one agent/],
    ['errors', /^vigil errors \[--open\] \[--agent ID\]/],
    ['alerts', /^vigil alerts \[--state pending\|firing\|resolved\]/],
    ['capacity', /^vigil capacity \[--gpu-vram GB\] \[--gpus N\] \[--cpu CORES\]/],
    ['traces', /^vigil traces \[--agent ID\] \[--model NAME\]/],
    ['usage', /^vigil usage \[--by agent\|model\|pool\] \[--since DURATION\]/],
  ];
  for (const [cmd, usage] of own) {
    const r = await vigil([cmd, '--help']);
    assert.equal(r.code, 0, cmd);
    assert.match(r.stdout, usage, cmd);
    assert.match(r.stdout, /--url <value> +VIGIL_URL /, cmd);
    assert.match(r.stdout, /--key <value> +VIGIL_KEY /, cmd);
    assert.match(
      r.stdout,
      /Exit codes: 0 done; 1 the hub answered an error \(printed as CODE: message\); 2 wrong usage or settings;\n3 the hub could not be reached/,
      cmd,
    );
  }
});

test('vigil agents reads every page: a fleet larger than one page (500) is listed whole', async () => {
  const ids = Array.from({ length: 503 }, (_, i) => `bulk-${String(i).padStart(3, '0')}`);
  for (let i = 0; i < ids.length; i += 50) {
    await Promise.all(
      ids.slice(i, i + 50).map((id) => call('POST', '/api/v1/agents', { agent_id: id, name: id, agent_type: 'bulk', pool_name: 'bulk' })),
    );
  }
  const r = await vigil(['agents', '--pool', 'bulk', '--json'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(
    (JSON.parse(r.stdout) as { agent_id: string }[]).map((a) => a.agent_id),
    ids,
  );
  const table = await vigil(['agents', '--pool', 'bulk'], env);
  assert.equal(table.stdout.trimEnd().split('\n').length, 1 + ids.length);
});
