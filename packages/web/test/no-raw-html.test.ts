import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

/**
 * docs/reliability.md W4: agent-controlled strings (names, messages, stack traces, metadata) reach the
 * DOM only as text. React escapes text; these are the ways around it, and none may appear.
 */
const FORBIDDEN = [
  /dangerouslySetInnerHTML/,
  /\.innerHTML\b/,
  /\.outerHTML\b/,
  /insertAdjacentHTML/,
  /document\.write/,
  /\beval\(/,
  /new Function\(/,
];
/** Nothing but the theme choice goes to browser storage (never a token): one `setItem(KEY, …)` in ui/theme.ts. */
const STORAGE = /\.setItem\((?!KEY, theme\))|\b(localStorage|sessionStorage)\s*\[/;

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : /\.(ts|tsx)$/.test(e.name) ? [join(dir, e.name)] : [],
  );
}

test('no raw HTML sink and no token storage anywhere in the dashboard source', () => {
  const all = files(SRC);
  assert.ok(all.length > 20, `found ${all.length} source files`);
  for (const file of all) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of FORBIDDEN) assert.doesNotMatch(text, pattern, `${file} uses ${pattern}`);
    assert.doesNotMatch(text, STORAGE, `${file} writes to browser storage`);
  }
});
