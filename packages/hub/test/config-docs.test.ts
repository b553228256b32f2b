import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SETTINGS } from '../src/config/config.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

test("the README's configuration table lists exactly the settings of the code, each with its variable", () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('\n## ', readme.indexOf('## Configuration') + 1));
  const rows = [...section.matchAll(/^\| `(--[a-z0-9-]+)` +\| `(VIGIL_[A-Z0-9_]+)` +\|/gm)].map((m) => `${m[1]} ${m[2]}`);
  const expected = Object.values(SETTINGS).map((s) => `${s.flag} ${s.env}`);
  assert.deepEqual([...rows].sort(), [...expected].sort());
});
