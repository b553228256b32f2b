import { spawn, type ChildProcess } from 'node:child_process';
import { after } from 'node:test';
import { VIGIL } from './cli.js';
import { ADMIN_TOKEN } from './hub.js';

/** A `vigil server` child process, for tests that kill the hub for real. */
export interface HubProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

const children = new Set<ChildProcess>();
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/**
 * Spawns `vigil server` (argv array, no shell) on a free port and resolves once it prints its URL; `bin` is this
 * repository's `vigil` unless a test runs an installed one.
 */
export async function spawnHub(dataDir: string, flags: string[] = [], env: NodeJS.ProcessEnv = {}, bin = VIGIL): Promise<HubProcess> {
  const args = [bin, 'server', '--port', '0', '--data-dir', dataDir, '--admin-token', ADMIN_TOKEN, '--log-level', 'warn', ...flags];
  const child = spawn(process.execPath, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hub did not start in 20 s:\n${out}`)), 20_000);
    const onData = () => {
      const m = /Vigil hub listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        resolve(m[1] as string);
      }
    };
    child.stdout?.on('data', onData);
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`hub exited (${code ?? signal}) before listening:\n${out}`));
    });
  });
  return { child, url, exited, output: () => out };
}
