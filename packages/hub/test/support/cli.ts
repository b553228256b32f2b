import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

/** The real `vigil` binary of this package. */
export const VIGIL = fileURLToPath(new URL('../../../bin/vigil.js', import.meta.url));

const run = promisify(execFile);

/** Runs `vigil` with `args` and only PATH plus `env` in its environment; never throws, so tests can check failing exits. */
export async function vigil(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [VIGIL, ...args], { env: { PATH: process.env.PATH, ...env }, timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
