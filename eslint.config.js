import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './eslint-rules/layers.js';

/** The hub's layers the store sits under: it answers them and never calls up into them. */
const ABOVE_STORE = ['api', 'ingest', 'alerts', 'live', 'config'].map((dir) => `packages/hub/src/${dir}`);

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'vigil-data/**', 'test-artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // Untrusted values never reach a shell: spawn/execFile with an argument array only.
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'child_process', importNames: ['exec', 'execSync'], message: 'Use execFile/spawn with an argument array.' },
            { name: 'node:child_process', importNames: ['exec', 'execSync'], message: 'Use execFile/spawn with an argument array.' },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        { selector: "Property[key.name='shell'][value.value=true]", message: 'Never spawn through a shell.' },
      ],
    },
  },
  {
    // The dashboard shows strings agents control (names, messages, stack traces) only ever as text (docs/reliability.md W4).
    files: ['packages/web/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: "JSXAttribute[name.name='dangerouslySetInnerHTML']", message: 'Render agent-controlled strings as text.' },
        { selector: 'MemberExpression[property.name=/^(innerHTML|outerHTML)$/]', message: 'Render agent-controlled strings as text.' },
        { selector: "CallExpression[callee.property.name='insertAdjacentHTML']", message: 'Render agent-controlled strings as text.' },
      ],
    },
  },
  {
    plugins: { layers },
    files: ['**/*.{ts,tsx,js}'],
    rules: {
      'layers/no-cycle': 'error',
      'layers/boundaries': [
        'error',
        [
          { from: 'packages/hub/src/store', disallow: ABOVE_STORE, message: 'the store is the bottom layer' },
          {
            from: 'packages/web',
            disallow: ['packages/hub', '@vigil/hub'],
            message: 'the dashboard speaks the wire contract: import its types from @vigil/protocol',
          },
        ],
      ],
    },
  },
  {
    // An unhandled rejection crashes the hub: every promise is awaited, returned, or marked `void` on purpose.
    // Type information comes from one program over protocol, agent and hub (tsconfig.eslint.json, sources
    // mapped by `paths`) and the dashboard's own: a program per package (projectService) checks the files
    // packages share once in each, which made the lint several times slower, and it runs in `npm test`.
    files: ['packages/**/*.{ts,tsx}'],
    ignores: ['packages/web/vite.config.ts'],
    languageOptions: { parserOptions: { project: './tsconfig.eslint.json', tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        // node:test's test() and describe() return promises the runner itself awaits.
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] },
      ],
    },
  },
  {
    files: ['packages/web/**/*.{ts,tsx}'],
    ignores: ['packages/web/vite.config.ts'],
    languageOptions: { parserOptions: { project: './packages/web/tsconfig.json', tsconfigRootDir: import.meta.dirname } },
  },
  {
    // Tests read JSON answers field by field; typing every response body would only restate the schemas.
    files: ['**/test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
