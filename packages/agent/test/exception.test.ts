import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { exceptionTitle, findException } from '../src/run/exception.js';

// Tails recorded from real crashes on this machine (Python 3.11, Node 20, OpenJDK 17, rustc 1.95);
// the Go one is written from the runtime's documented panic format (no Go toolchain here).
const tail = (name: string) => readFileSync(new URL(`../../test/fixtures/crash-tails/${name}.txt`, import.meta.url), 'utf8');

const cases: [string, string, string][] = [
  ['python-keyerror', 'python', "KeyError: 'missing'"],
  // A chained traceback ends with the exception that was raised last.
  ['python-chained', 'python', 'RuntimeError: config unreadable'],
  ['node-typeerror', 'node', "TypeError: Cannot read properties of null (reading 'x')"],
  ['java-caused-by', 'java', 'java.lang.IllegalStateException: cannot save checkpoint'],
  ['go-panic', 'go', 'panic: runtime error: index out of range [5] with length 3'],
  ['rust-panic', 'rust', 'panic: index out of bounds: the len is 0 but the index is 3 (at p.rs:1:59)'],
];

for (const [name, runtime, title] of cases) {
  test(`the exception of a recorded ${name} tail`, () => {
    const found = findException(tail(name));
    assert.ok(found, 'an exception is found');
    assert.equal(found.runtime, runtime);
    assert.equal(exceptionTitle(found), title);
  });
}

test('a tail cut in the middle of a traceback still yields its final exception', () => {
  const lines = tail('python-chained').split('\n');
  assert.equal(exceptionTitle(findException(lines.slice(-4).join('\n'))!), 'RuntimeError: config unreadable');
});

test('ordinary output that only looks like an exception is not one', () => {
  assert.equal(findException('loading\nValueError: not raised, just printed\ndone'), undefined);
  assert.equal(findException('Error: disk almost full, continuing\nall good'), undefined);
  assert.equal(findException('panic: not go output\nstill running'), undefined);
  assert.equal(findException(''), undefined);
});

test('a message-less exception is titled by its type alone', () => {
  const found = findException('Traceback (most recent call last):\n  File "w.py", line 2, in <module>\n    x = [0] * 10**12\nMemoryError');
  assert.equal(found && exceptionTitle(found), 'MemoryError');
});
