import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';

// The layering rules in eslint-rules/layers.js, run through ESLint's own API on files they must refuse.

const root = fileURLToPath(new URL('../../../../', import.meta.url));
const layers = ((await import(pathToFileURL(join(root, 'eslint-rules/layers.js')).href)) as { default: ESLint.Plugin }).default;

const zones = [
  { from: 'store', disallow: ['api'], message: 'the store is the bottom layer' },
  { from: 'web', disallow: ['hub', '@vigil/hub'] },
];

/** ESLint over `cwd` with only the layering rules (and the TypeScript parser, without type information). */
function linter(cwd: string): ESLint {
  const config: Linter.Config[] = [
    {
      files: ['**/*.ts'],
      languageOptions: { parser: tseslint.parser as Linter.Parser },
      plugins: { layers },
      rules: { 'layers/no-cycle': 'error', 'layers/boundaries': ['error', zones] },
    },
  ];
  return new ESLint({ cwd, overrideConfigFile: true, overrideConfig: config });
}

function messages(results: ESLint.LintResult[], fixture: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const r of results) out[r.filePath.slice(fixture.length + 1)] = r.messages.map((m) => m.message);
  return out;
}

describe('layering lint rules', () => {
  const fixture = mkdtempSync(join(tmpdir(), 'vigil-lint-'));
  after(() => rmSync(fixture, { recursive: true, force: true }));
  const write = (path: string, text: string) => {
    mkdirSync(dirname(join(fixture, path)), { recursive: true });
    writeFileSync(join(fixture, path), text);
  };

  test('a cycle is reported in every file on it, type-only imports included; a file importing into it is not', async () => {
    write('cycle/a.ts', "import { b } from './b.js';\nexport const a = b + 1;\n");
    write('cycle/b.ts', "export { c as b } from './c.js';\n");
    // Only a type closes the loop: still a cycle.
    write('cycle/c.ts', "import type { A } from './a.js';\nexport const c = 1;\nexport type C = A;\nexport type { A };\n");
    write('cycle/outside.ts', "import { a } from './a.js';\nexport const d = a;\n");
    write('cycle/dynamic.ts', "export const load = () => import('./dynamic-back.js');\n");
    write('cycle/dynamic-back.ts', "export type L = typeof import('./dynamic.js').load;\n");
    const found = messages(await linter(fixture).lintFiles(['cycle/*.ts']), fixture);
    assert.deepEqual(found, {
      'cycle/a.ts': ['Import cycle: cycle/a.ts → cycle/b.ts → cycle/c.ts → cycle/a.ts'],
      'cycle/b.ts': ['Import cycle: cycle/b.ts → cycle/c.ts → cycle/a.ts → cycle/b.ts'],
      'cycle/c.ts': ['Import cycle: cycle/c.ts → cycle/a.ts → cycle/b.ts → cycle/c.ts'],
      'cycle/outside.ts': [],
      'cycle/dynamic.ts': ['Import cycle: cycle/dynamic.ts → cycle/dynamic-back.ts → cycle/dynamic.ts'],
      'cycle/dynamic-back.ts': ['Import cycle: cycle/dynamic-back.ts → cycle/dynamic.ts → cycle/dynamic-back.ts'],
    });
  });

  test('a zone may not import from the folders and packages it bars, by any path', async () => {
    write('api/routes.ts', 'export const routes = 1;\n');
    write(
      'store/rows.ts',
      "import type { routes } from '../api/routes.js';\nimport { x } from './x.js';\nexport type R = typeof routes | typeof x;\n",
    );
    write('store/x.ts', 'export const x = 1;\n');
    write('hub/types.ts', 'export type T = 1;\n');
    write('web/view.ts', "import type { T } from '../hub/types.js';\nimport '@vigil/hub';\nimport '@vigil/hubcap';\nexport type V = T;\n");
    const found = messages(await linter(fixture).lintFiles(['store/*.ts', 'web/*.ts', 'api/*.ts']), fixture);
    assert.deepEqual(found, {
      'api/routes.ts': [],
      'store/rows.ts': ["'store' must not import from 'api' (../api/routes.js): the store is the bottom layer"],
      'store/x.ts': [],
      'web/view.ts': ["'web' must not import from 'hub' (../hub/types.js)", "'web' must not import from '@vigil/hub' (@vigil/hub)"],
    });
  });

  test("the repository's own config would refuse the cycle this codebase once had", async () => {
    // ingest/commands.ts importing the live messages back (as it once did through alerts/commands.ts).
    const path = join(root, 'packages/hub/src/ingest/commands.ts');
    const text = `import type { LiveMessage } from '../live/messages.js';\nexport type Back = LiveMessage;\n${readFileSync(path, 'utf8')}`;
    const [result] = await linter(root).lintText(text, { filePath: path });
    assert.deepEqual(
      result?.messages.map((m) => m.message),
      ['Import cycle: packages/hub/src/ingest/commands.ts → packages/hub/src/live/messages.ts → packages/hub/src/ingest/commands.ts'],
    );

    const repo = new ESLint({ cwd: root });
    const store = await repo.calculateConfigForFile(join(root, 'packages/hub/src/store/agents.ts'));
    assert.equal(store.rules['layers/no-cycle'][0], 2);
    const [, storeZones] = store.rules['layers/boundaries'];
    const storeZone = storeZones.find((z: { from: string }) => z.from === 'packages/hub/src/store');
    assert.deepEqual(
      new Set(storeZone.disallow),
      new Set(['api', 'ingest', 'alerts', 'live', 'config'].map((d) => `packages/hub/src/${d}`)),
    );
    assert.ok(
      storeZones.some((z: { from: string; disallow: string[] }) => z.from === 'packages/web' && z.disallow.includes('packages/hub')),
    );
    assert.equal(store.rules['@typescript-eslint/no-floating-promises'][0], 2);
    const web = await repo.calculateConfigForFile(join(root, 'packages/web/src/main.tsx'));
    assert.equal(web.rules['@typescript-eslint/no-floating-promises'][0], 2);
  });
});
