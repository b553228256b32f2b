import { execFile } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The repository root, found from this file's place in the compiled hub (packages/hub/dist/test/support). */
export const REPO_ROOT = fileURLToPath(new URL('../../../../../', import.meta.url));

/** The packages a user installs, in the order npm needs their tarballs. */
export const PUBLISHED = ['protocol', 'agent', 'hub'] as const;
export type Published = (typeof PUBLISHED)[number];

const exec = promisify(execFile);

/** Runs npm with only what it needs from the environment; throws with npm's output when it fails. */
export async function npm(args: string[], cwd: string, timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await exec('npm', args, { cwd, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env: process.env });
    return stdout;
  } catch (err) {
    const e = err as { message: string; stdout?: string; stderr?: string };
    throw new Error(`npm ${args.join(' ')} failed in ${cwd}: ${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

/** `npm pack` of one workspace package (its `prepack` builds what it ships) into `dest`; resolves with the tarball's path. */
export async function pack(name: Published, dest: string): Promise<{ tarball: string; files: string[] }> {
  const out = await npm(['pack', '--json', '--pack-destination', dest], join(REPO_ROOT, 'packages', name), 300_000);
  // prepack's own output comes before the JSON on stdout.
  const [result] = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  if (!result) throw new Error(`npm pack printed no result:\n${out}`);
  return { tarball: join(dest, result.filename), files: result.files.map((f) => f.path) };
}

/** Installs tarballs into an empty directory as a user would, dependencies from the registry. */
export async function installTarballs(dir: string, tarballs: string[], timeoutMs: number): Promise<void> {
  await npm(['install', '--no-audit', '--no-fund', '--no-save', '--loglevel', 'error', ...tarballs], dir, timeoutMs);
}

/** Bytes of the files under `dir` (blocks actually used, as `du` counts them), links not followed. */
export function diskBytes(dir: string): number {
  let total = 0;
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      const st = lstatSync(path);
      total += st.blocks * 512;
      if (entry.isDirectory()) walk(path);
    }
  };
  walk(dir);
  return total;
}

/** Every file under `dir` whose name matches, as paths relative to `dir`. */
export function findFiles(dir: string, match: (name: string) => boolean): string[] {
  const found: string[] = [];
  const walk = (at: string, rel: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(rel, entry.name);
      if (entry.isDirectory()) walk(join(at, entry.name), path);
      else if (match(entry.name)) found.push(path);
    }
  };
  walk(dir, '');
  return found;
}
