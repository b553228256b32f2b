/**
 * Vigil's layering rules, local so the lint needs no resolver plugin:
 *
 * - `layers/no-cycle`: no file imports, directly or through others, a file that imports it back.
 *   Every import counts (`import type`, `export … from`, `import()` and `import('…').T` types),
 *   since a type-only cycle still ties two modules' designs together.
 * - `layers/boundaries`: zones that must not import from named folders or packages
 *   (`{ from, disallow: [folder or package name], message }`, folders relative to the working directory).
 *
 * Imports are read with TypeScript's own scanner (`preProcessFile`: it finds every kind listed
 * above without parsing or type-checking), and only relative specifiers are followed: a cycle
 * between packages would need a package to depend on its dependant, which npm workspaces refuse.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

/** Every module specifier in `text`, with where it stands (the offsets of the quoted name). */
function specifiers(text) {
  return ts.preProcessFile(text, true, true).importedFiles.map((f) => ({ name: f.fileName, pos: f.pos, end: f.end }));
}

function stat(path) {
  try {
    return statSync(path);
  } catch {
    return undefined; // absent, or a path through a file (`styles.css/index.ts`)
  }
}

const isFile = (path) => stat(path)?.isFile() ?? false;
const isDirectory = (path) => stat(path)?.isDirectory() ?? false;

/** The source file a relative specifier names (`./x.js` is `./x.ts` under NodeNext), or undefined. */
function resolveRelative(from, spec) {
  if (!spec.startsWith('./') && !spec.startsWith('../')) return undefined;
  const base = resolve(dirname(from), spec);
  const stem = base.replace(/\.(js|jsx|mjs|cjs)$/, '');
  const candidates = [
    base,
    `${stem}.ts`,
    `${stem}.tsx`,
    `${stem}.mts`,
    `${base}.ts`,
    `${base}.tsx`,
    join(base, 'index.ts'),
    join(base, 'index.tsx'),
  ];
  return candidates.find((c) => /\.(ts|tsx|mts|js|jsx|mjs)$/.test(c) && isFile(c));
}

/** Each file's relative imports, re-read when the file changes (an editor keeps ESLint running). */
const graph = new Map();

function importsOf(file) {
  const mtime = stat(file)?.mtimeMs;
  if (mtime === undefined) return [];
  const known = graph.get(file);
  if (known && known.mtime === mtime) return known.deps;
  let deps = [];
  try {
    deps = [
      ...new Set(
        specifiers(readFileSync(file, 'utf8'))
          .map((s) => resolveRelative(file, s.name))
          .filter(Boolean),
      ),
    ];
  } catch {
    // An unreadable file imports nothing we can follow.
  }
  graph.set(file, { mtime, deps });
  return deps;
}

/** The shortest import path from `start` back to `target` (both included), or undefined. */
function pathBack(start, target) {
  const previous = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift();
    if (file === target) {
      const path = [];
      for (let at = file; at !== undefined; at = previous.get(at)) path.unshift(at);
      return path;
    }
    for (const next of importsOf(file)) {
      if (!previous.has(next)) {
        previous.set(next, file);
        queue.push(next);
      }
    }
  }
  return undefined;
}

function locOf(sourceCode, s) {
  return { start: sourceCode.getLocFromIndex(s.pos), end: sourceCode.getLocFromIndex(s.end) };
}

const noCycle = {
  meta: {
    type: 'problem',
    docs: { description: 'Disallow import cycles, type-only imports included' },
    schema: [],
    messages: { cycle: 'Import cycle: {{path}}' },
  },
  create(context) {
    const file = context.filename;
    if (!isAbsolute(file)) return {};
    return {
      Program() {
        const sourceCode = context.sourceCode;
        const cwd = context.cwd;
        const seen = new Set();
        for (const s of specifiers(sourceCode.text)) {
          const target = resolveRelative(file, s.name);
          if (!target || target === file || seen.has(target)) continue;
          seen.add(target);
          const back = pathBack(target, file);
          if (!back) continue;
          const path = [file, ...back].map((f) => relative(cwd, f).split(sep).join('/')).join(' → ');
          context.report({ loc: locOf(sourceCode, s), messageId: 'cycle', data: { path } });
        }
      },
    };
  },
};

const boundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'Disallow imports across layer boundaries' },
    schema: [
      {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            from: { type: 'string' },
            disallow: { type: 'array', items: { type: 'string' } },
            message: { type: 'string' },
          },
          required: ['from', 'disallow'],
          additionalProperties: false,
        },
      },
    ],
    messages: { crossing: "'{{from}}' must not import from '{{target}}' ({{spec}}){{why}}" },
  },
  create(context) {
    const file = context.filename;
    if (!isAbsolute(file)) return {};
    const cwd = context.cwd;
    const inside = (path, folder) => path === folder || path.startsWith(folder + sep);
    const zones = (context.options[0] ?? [])
      .filter((z) => inside(file, resolve(cwd, z.from)))
      // An entry naming an existing folder bars that folder; any other names a package.
      .map((z) => ({
        ...z,
        barred: z.disallow.map((d) => ({ name: d, folder: isDirectory(resolve(cwd, d)) ? resolve(cwd, d) : undefined })),
      }));
    if (zones.length === 0) return {};
    return {
      Program() {
        const sourceCode = context.sourceCode;
        for (const s of specifiers(sourceCode.text)) {
          const relativeSpec = s.name.startsWith('./') || s.name.startsWith('../');
          const target = relativeSpec ? (resolveRelative(file, s.name) ?? resolve(dirname(file), s.name)) : undefined;
          for (const zone of zones) {
            const hit = zone.barred.find(({ name, folder }) =>
              target !== undefined ? folder !== undefined && inside(target, folder) : s.name === name || s.name.startsWith(`${name}/`),
            );
            if (hit === undefined) continue;
            context.report({
              loc: locOf(sourceCode, s),
              messageId: 'crossing',
              data: { from: zone.from, target: hit.name, spec: s.name, why: zone.message ? `: ${zone.message}` : '' },
            });
          }
        }
      },
    };
  },
};

export default { meta: { name: 'vigil-layers' }, rules: { 'no-cycle': noCycle, boundaries } };
