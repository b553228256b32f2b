import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ManualClock } from '../src/clock.js';
import { parseRulesFile } from '../src/alerts/rules-file.js';
import { startTestHub } from './support/hub.js';
import { vigil } from './support/cli.js';
import { tempDir } from './support/stores.js';

/** `vigil alerts rules list|add|rm` through the real binary, and the `--alert-rules` file checked at start. */

const dir = tempDir();
after(() => dir.remove());

test('vigil alerts rules add, list and rm; a bad rule exits 2 naming the flag', async () => {
  const store = ['--data-dir', join(dir.path, 'cli')];
  const add = await vigil([
    'alerts',
    'rules',
    'add',
    '--name',
    'gpu low',
    '--metric',
    'gpu_vram_available_gb',
    '--op',
    '<',
    '--threshold',
    '2',
    '--for',
    '60',
    '--pool',
    'gpu',
    ...store,
  ]);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /^added 6 {2}gpu low: gpu_vram_available_gb < 2 for 60 s, warning, pool_name=gpu/);

  const list = await vigil(['alerts', 'rules', 'list', ...store]);
  assert.equal(list.code, 0);
  assert.deepEqual(
    list.stdout
      .trim()
      .split('\n')
      .map((l) => l.split('  ')[1]?.split(':')[0]),
    ['high_cpu', 'high_memory', 'high_errors', 'agent_offline', 'agent_crashed', 'gpu low'],
  );

  const bad = await vigil(['alerts', 'rules', 'add', '--name', 'x', '--metric', 'cpu_percent', '--op', '=>', '--threshold', '1', ...store]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--op must be one of ">", ">=", "<", "<="/);
  const dup = await vigil([
    'alerts',
    'rules',
    'add',
    '--name',
    'gpu low',
    '--metric',
    'offline',
    '--op',
    '>',
    '--threshold',
    '0',
    ...store,
  ]);
  assert.equal(dup.code, 2);
  assert.match(dup.stderr, /a rule named "gpu low" exists/);

  assert.equal((await vigil(['alerts', 'rules', 'rm', 'gpu low', ...store])).code, 0);
  assert.equal((await vigil(['alerts', 'rules', 'rm', 'gpu low', ...store])).code, 1);
  const json = JSON.parse((await vigil(['alerts', 'rules', 'list', '--json', ...store])).stdout) as { name: string }[];
  assert.equal(json.length, 5);
});

test('the rules file: a bad rule stops the server with exit 2 and a message naming the rule and the field', async () => {
  const file = join(dir.path, 'bad-rules.json');
  writeFileSync(
    file,
    JSON.stringify({
      rules: [
        { name: 'ok', metric: 'offline', op: '>', threshold: 0 },
        { name: 'gpu low', metric: 'gpu_vram_available_gb', op: '=<', threshold: 2 },
      ],
    }),
  );
  const r = await vigil(['server', '--port', '0', '--data-dir', join(dir.path, 'srv'), '--alert-rules', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--alert-rules .*bad-rules\.json: rule 2 \("gpu low"\): rule\.op must be one of/);

  const cases: [string, RegExp][] = [
    ['{', /not valid JSON/],
    ['{"rulez": []}', /expected \{"rules": \[\.\.\.\]\} or an array of rules/],
    [
      '[{"name": "a", "metric": "offline", "op": ">", "threshold": 0, "for_seconds": -1}]',
      /rule 1 \("a"\): rule\.for_seconds must be >= 0/,
    ],
    ['[{"metric": "offline", "op": ">", "threshold": 0}]', /rule 1: rule is missing required field "name"/],
    [
      '[{"name": "a", "metric": "offline", "op": ">", "threshold": 0}, {"name": "a", "metric": "offline", "op": ">", "threshold": 1}]',
      /rule 2 \("a"\): another rule has the name "a"/,
    ],
  ];
  for (const [text, message] of cases) assert.throws(() => parseRulesFile('r.json', text), message);
});

test('the rules file replaces rules by name, keeps unchanged ones (and their alerts) across restarts, and drops removed ones', async () => {
  const file = join(dir.path, 'rules.json');
  const hot = { name: 'high_cpu', metric: 'cpu_percent', op: '>', threshold: 90, for_seconds: 0, severity: 'critical' };
  const gpu = { name: 'gpu low', metric: 'resources.gpu_vram_available_gb', op: '<', threshold: 1, scope: { pool_name: 'gpu' } };
  writeFileSync(file, JSON.stringify({ rules: [hot, gpu] }));
  const data = tempDir();
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const flags = ['--host-metrics-interval', '0', '--alert-rules', file];
  const first = await startTestHub('sqlite', { clock, flags, dir: data.path });
  try {
    const rules = (await first.call('GET', '/api/v1/alert-rules')).body.rules as any[];
    const high = rules.find((r) => r.name === 'high_cpu');
    assert.deepEqual(
      [high.threshold, high.severity, high.source, high.id],
      [90, 'critical', 'file', 1],
      'the file redefines the default of that name',
    );
    assert.equal(rules.find((r) => r.name === 'gpu low').source, 'file');
    await first.call('POST', '/api/v1/agents', { agent_id: 'f-1', name: 'f', agent_type: 't' });
    await first.call('POST', '/api/v1/agents/f-1/heartbeat', { metrics: { cpu_percent: 95 } });
    await first.alerts.idle();
    await first.stop();

    writeFileSync(file, JSON.stringify([hot]));
    const second = await startTestHub('sqlite', { clock, flags, target: first.target, dir: data.path });
    try {
      const names = ((await second.call('GET', '/api/v1/alert-rules')).body.rules as any[]).map((r) => r.name);
      assert.deepEqual(names, ['high_cpu', 'high_memory', 'high_errors', 'agent_offline', 'agent_crashed']);
      const open = (await second.call('GET', '/api/v1/alerts')).body.alerts as any[];
      assert.deepEqual(
        open.map((a) => [a.rule_id, a.state]),
        [[1, 'firing']],
        'the unchanged rule kept its id and its firing alert',
      );
    } finally {
      await second.close();
    }
  } finally {
    await first.close();
    data.remove();
  }
});

test('spend rules from the CLI and the rules file: --window and --group-by, a window the metric needs or refuses', async () => {
  const store = ['--data-dir', join(dir.path, 'spend')];
  const base = ['alerts', 'rules', 'add', '--op', '>', ...store];
  const add = await vigil([
    ...base,
    '--name',
    'coding spend',
    '--metric',
    'cost_usd',
    '--threshold',
    '20',
    '--window',
    '3600',
    '--group-by',
    'pool',
    '--pool',
    'coding',
  ]);
  assert.equal(add.code, 0, add.stderr);
  assert.match(add.stdout, /coding spend: cost_usd over 3600 s per pool > 20 for 0 s, warning, pool_name=coding/);
  const noWindow = await vigil([...base, '--name', 'x', '--metric', 'tokens.output', '--threshold', '2000000']);
  assert.equal(noWindow.code, 2);
  assert.match(noWindow.stderr, /--window is required for metric tokens\.output/);
  const stray = await vigil([...base, '--name', 'y', '--metric', 'cpu_percent', '--threshold', '1', '--window', '60']);
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /--window applies only to the metrics cost_usd, tokens\.input/);
  const json = JSON.parse((await vigil(['alerts', 'rules', 'list', '--json', ...store])).stdout) as Record<string, unknown>[];
  const stored = json.find((r) => r['name'] === 'coding spend');
  assert.deepEqual([stored?.['metric'], stored?.['window_seconds'], stored?.['group_by']], ['cost_usd', 3600, 'pool']);

  assert.throws(
    () => parseRulesFile('r.json', '[{"name": "s", "metric": "cost_usd", "op": ">", "threshold": 20}]'),
    /rule 1 \("s"\): rule\.window_seconds is required for metric cost_usd/,
  );
  assert.throws(
    () => parseRulesFile('r.json', '[{"name": "s", "metric": "cost_usd", "op": ">", "threshold": 20, "window_seconds": 0}]'),
    /rule\.window_seconds must be >= 1/,
  );

  // A file rule with a window is stored with it, and a restart on the same file leaves it untouched.
  const file = join(dir.path, 'spend-rules.json');
  writeFileSync(file, JSON.stringify({ rules: [{ name: 'burn', metric: 'tokens.total', op: '>', threshold: 1e6, window_seconds: 600 }] }));
  const hubDir = join(dir.path, 'spend-hub');
  mkdirSync(hubDir);
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const ids: unknown[] = [];
  let target: string | undefined;
  for (let i = 0; i < 2; i++) {
    const hub = await startTestHub('sqlite', { clock, dir: hubDir, ...(target ? { target } : {}), flags: ['--alert-rules', file] });
    target = hub.target;
    try {
      const rules = (await hub.call('GET', '/api/v1/alert-rules')).body.rules as Record<string, unknown>[];
      const burn = rules.find((r) => r['name'] === 'burn');
      assert.deepEqual([burn?.['window_seconds'], burn?.['group_by'], burn?.['source']], [600, 'agent', 'file']);
      ids.push([burn?.['id'], burn?.['updated_at']]);
    } finally {
      await hub.stop();
    }
    clock.advance(60_000);
  }
  assert.deepEqual(ids[0], ids[1]);
});
