import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** Source files of every package (src, test, bench), relative to the root; build output and dependencies left out. */
function sourceFiles(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name === 'dist') continue;
      const path = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(path);
      else if (/\.(ts|tsx|js|css)$/.test(e.name)) found.push(path);
    }
  };
  for (const pkg of readdirSync(join(root, 'packages'))) {
    for (const part of ['src', 'test', 'bench']) if (existsSync(join(root, 'packages', pkg, part))) walk(`packages/${pkg}/${part}`);
  }
  return [...found, 'eslint.config.js'];
}

/** The comments of a source file, each with the line it starts on (a `//` inside a string only adds text to search). */
function comments(text: string): { line: number; text: string }[] {
  return [...text.matchAll(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g)].map((m) => ({ line: text.slice(0, m.index).split('\n').length, text: m[0] }));
}

function markdownFiles(): string[] {
  return [
    'README.md',
    'bench/RESULTS.md',
    ...readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
}

/** The requirement IDs docs/reliability.md defines: the first cell of its table rows (`| D4 | …`). */
function reliabilityIds(): Set<string> {
  const doc = readFileSync(join(root, 'docs/reliability.md'), 'utf8');
  return new Set([...doc.matchAll(/^\| ([A-Z]\d{1,2}) +\|/gm)].map((m) => m[1] as string));
}

/** `S1-S5` is S1 to S5; `D2-lite` (a test of part of D2) is D2. */
function expand(token: string): string[] {
  const range = /^([A-Z])(\d+)-\1(\d+)$/.exec(token);
  if (range) {
    const ids: string[] = [];
    for (let n = Number(range[2]); n <= Number(range[3]); n++) ids.push(`${range[1]}${n}`);
    return ids;
  }
  return [token.replace(/-lite$/, '')];
}

test('every ID cited as "docs/reliability.md <ID>" or opening a test title is defined in docs/reliability.md', () => {
  const ids = reliabilityIds();
  assert.ok(ids.size >= 40, `docs/reliability.md defines ${ids.size} IDs`);
  const missing: string[] = [];
  let cited = 0;
  for (const file of [...sourceFiles(), ...markdownFiles()]) {
    const text = readFileSync(join(root, file), 'utf8');
    // "docs/reliability.md D10 and D11", "docs/reliability.md W1, W3, W4 and A6", "docs/reliability.md S1-S5".
    for (const m of text.matchAll(/docs\/reliability\.md((?:(?:,\s*|\s+and\s+|\s+)[A-Z]\d{1,2}(?:-[A-Z]\d{1,2}|-lite)?\b)+)/g)) {
      for (const token of (m[1] as string).match(/[A-Z]\d{1,2}(?:-[A-Z]\d{1,2}|-lite)?/g) ?? []) {
        for (const id of expand(token)) {
          cited++;
          if (!ids.has(id)) missing.push(`${file}: ${id}`);
        }
      }
    }
    // test('D8: …'), describe('P4: …'): the item the test stands for.
    for (const m of text.matchAll(/\b(?:test|describe)\(\s*['"`]([A-Z]\d{1,2}(?:-lite)?)[: ]/g)) {
      cited++;
      for (const id of expand(m[1] as string)) if (!ids.has(id)) missing.push(`${file}: ${id} (test title)`);
    }
  }
  assert.ok(cited >= 50, `only ${cited} citations found: is the pattern still right?`);
  assert.deepEqual(missing, []);
});

test('every test file docs/reliability.md names exists', () => {
  const doc = readFileSync(join(root, 'docs/reliability.md'), 'utf8');
  const named = new Set([...doc.matchAll(/`((?:[\w-]+\/)*[\w-]+\.test\.ts)`/g)].map((m) => m[1] as string));
  assert.ok(named.size >= 20);
  const absent = [...named].filter((f) => !existsSync(join(root, f.includes('/') ? f : `packages/hub/test/${f}`)));
  assert.deepEqual(absent, []);
});

test('comments and docs point inside the repository: no outside test plan, style guide or seed document', () => {
  // The reference material the project was specified from lives outside the repository; what the code
  // relies on from it is in docs/reliability.md and docs/seed-requirements.md.
  const outside = [/RELIABILITY|DESIGN\.md|STYLE\.md/, /\bseeds?[ -]?0\d\d\b/i, /\.\.\/shared\/|\/work\/shared/];
  const offending: string[] = [];
  const check = (file: string, first: number, text: string): void => {
    text.split('\n').forEach((line, i) => {
      if (outside.some((re) => re.test(line))) offending.push(`${file}:${first + i}: ${line.trim()}`);
    });
  };
  for (const file of sourceFiles()) for (const c of comments(readFileSync(join(root, file), 'utf8'))) check(file, c.line, c.text);
  for (const file of markdownFiles()) check(file, 1, readFileSync(join(root, file), 'utf8'));
  assert.deepEqual(offending, []);
});
