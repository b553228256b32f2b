import assert from 'node:assert/strict';
import { test } from 'node:test';
import { errorFingerprint, normaliseMessage, topFrame } from '../src/ingest/fingerprint.js';

test('normaliseMessage replaces what varies between occurrences of one failure', () => {
  assert.equal(normaliseMessage('timed out after 3000 ms'), 'timed out after <n> ms');
  assert.equal(normaliseMessage('request 0dc2e5a1-99b7-4c1e-8f3a-0123456789ab failed'), 'request <uuid> failed');
  assert.equal(normaliseMessage('bad pointer 0x7ffde0a1  at\n  address'), 'bad pointer <hex> at address');
  assert.equal(normaliseMessage('commit deadbeefdeadbeef1234 missing'), 'commit <hex> missing');
});

test('topFrame takes the innermost JavaScript or Python frame without line numbers', () => {
  assert.equal(topFrame('Error: x\n    at parse (/app/a.js:10:5)\n    at main (/app/b.js:1:1)'), 'at parse (/app/a.js');
  assert.equal(
    topFrame(
      'Traceback (most recent call last):\n  File "/app/main.py", line 3, in <module>\n  File "/app/llm.py", line 42, in call\nTimeoutError',
    ),
    'File "/app/llm.py", in call',
  );
  assert.equal(topFrame(undefined), '');
  assert.equal(topFrame('no frames here'), '');
});

test('errorFingerprint groups repeats and separates different failures', () => {
  const stack = (line: number) => `Error\n    at call (/app/llm.js:${line}:3)`;
  const a = errorFingerprint('TimeoutError', 'timed out after 100 ms', stack(1));
  assert.equal(a, errorFingerprint('TimeoutError', 'timed out after 9999 ms', stack(2)));
  assert.notEqual(a, errorFingerprint('RangeError', 'timed out after 100 ms', stack(1)));
  assert.notEqual(a, errorFingerprint('TimeoutError', 'connection refused', stack(1)));
  assert.notEqual(a, errorFingerprint('TimeoutError', 'timed out after 100 ms', 'Error\n    at other (/app/x.js:1:1)'));
  assert.match(a, /^[0-9a-f]{32}$/);
});

test('normaliseMessage stays linear on adversarial input (no ReDoS)', () => {
  const evil = `${'0'.repeat(50_000)}x${' '.repeat(50_000)}y${'a'.repeat(50_000)}`;
  const start = process.hrtime.bigint();
  normaliseMessage(evil);
  errorFingerprint('E', evil, `at ${'('.repeat(50_000)}`);
  assert.ok(Number(process.hrtime.bigint() - start) / 1e6 < 500, 'normalising 150 KB takes well under a second');
});
