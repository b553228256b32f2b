import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { test } from 'node:test';
import { DEFAULT_URL, parseRunArgs, RunUsageError } from '../src/run/args.js';
import { StderrTail } from '../src/run/stderr-tail.js';

test('vigil run arguments: options before --, the command after it, untouched', () => {
  const a = parseRunArgs(
    [
      '--name',
      'coder',
      '--pool',
      'gpu',
      '--capability',
      'python',
      '--capability=cuda',
      '--interval',
      '5',
      '--',
      'claude',
      '--help',
      '-p',
      'x; y',
    ],
    {},
  );
  assert.equal(a.command, 'claude');
  assert.deepEqual(a.args, ['--help', '-p', 'x; y']);
  assert.equal(a.name, 'coder');
  assert.equal(a.pool, 'gpu');
  assert.deepEqual(a.capabilities, ['python', 'cuda']);
  assert.equal(a.intervalS, 5);
  assert.equal(a.url, DEFAULT_URL);
  assert.match(a.agentId, /^[A-Za-z0-9][A-Za-z0-9_.:-]*\.coder$/);
  assert.ok(
    a.agentId.startsWith(
      hostname()
        .replace(/[^A-Za-z0-9_.:-]/g, '-')
        .slice(0, 10),
    ),
  );
});

test('vigil run takes the URL and key from the environment, flags first', () => {
  const env = { VIGIL_URL: 'http://hub.example:7070/', VIGIL_KEY: 'vgl_env' };
  const fromEnv = parseRunArgs(['--', 'sleep', '1'], env);
  assert.equal(fromEnv.url, 'http://hub.example:7070');
  assert.equal(fromEnv.key, 'vgl_env');
  assert.equal(fromEnv.name, 'sleep');
  const flags = parseRunArgs(['--url', 'https://other', '--key', 'vgl_flag', '--', '/usr/bin/sleep', '1'], env);
  assert.equal(flags.url, 'https://other');
  assert.equal(flags.key, 'vgl_flag');
  assert.equal(flags.name, 'sleep');
});

test('vigil run refuses what it cannot use, naming the problem', () => {
  const cases: [string[], RegExp][] = [
    [['--name', 'x'], /missing the command/],
    [['--', ''], /missing the command/],
    [['--bogus', '1', '--', 'true'], /unknown option "--bogus"/],
    [['--name', '--', 'true'], /missing the command|--name needs a value/],
    [['--interval', '1.5', '--', 'true'], /--interval must be a whole number/],
    [['--url', 'file:///etc/passwd', '--', 'true'], /--url must be an http/],
    [['--agent-id', '../../etc', '--', 'true'], /--agent-id may hold/],
  ];
  for (const [argv, message] of cases) {
    assert.throws(
      () => parseRunArgs(argv, {}),
      (err: Error) => err instanceof RunUsageError && message.test(err.message),
      argv.join(' '),
    );
  }
});

test('the stderr tail keeps the last lines within its byte bound, whatever the chunking', () => {
  const tail = new StderrTail(3, 64);
  for (let i = 1; i <= 100; i++) tail.push(Buffer.from(`line ${i}\n`));
  assert.equal(tail.text(), 'line 98\nline 99\nline 100');
  const split = new StderrTail(5, 1024);
  for (const part of ['Trace', 'back:\n  at f', '\n  at g\nEr', 'ror: boom\u0000\n']) split.push(Buffer.from(part));
  assert.equal(split.text(), 'Traceback:\n  at f\n  at g\nError: boom\ufffd');
  const huge = new StderrTail(50, 100);
  huge.push(Buffer.alloc(10_000, 'x'));
  assert.equal(huge.text().length, 100);
});
