import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ERRORS } from '../src/errors.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

test('docs/errors.md lists exactly the codes, statuses and messages of the ERRORS table', () => {
  const doc = readFileSync(`${root}docs/errors.md`, 'utf8');
  const rows = [...doc.matchAll(/^\| `(VIGIL_[A-Z_]+)` +\| (\d{3}) +\| (.+?) *\|$/gm)].map((m) => [m[1], Number(m[2]), m[3]]);
  const expected = Object.entries(ERRORS).map(([code, e]) => [code, e.status, e.message]);
  assert.deepEqual(rows, expected);
});
