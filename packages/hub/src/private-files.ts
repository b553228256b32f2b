import { chmodSync, mkdirSync, statSync } from 'node:fs';

/**
 * The hub's files hold the admin token and every agent's data, so they are its user's alone:
 * directories 0700, files 0600. What the hub creates is created that way; what it finds looser
 * it tightens (files) or warns about (directories, which may be shared on purpose).
 */

/** Group and other permission bits. */
const OTHERS = 0o077;

export type Warn = (details: Record<string, unknown>, message: string) => void;

/** `0644` from a stat mode. */
export function modeText(mode: number): string {
  return `0${(mode & 0o777).toString(8)}`;
}

/** Creates `dir` and missing parents as 0700; warns when an existing one lets other users in. */
export function ensurePrivateDir(dir: string, warn: Warn): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = statSync(dir).mode;
  if ((mode & OTHERS) !== 0) {
    warn({ dir, mode: modeText(mode) }, `${dir} is open to other users (mode ${modeText(mode)}); chmod 700 it unless they need it`);
  }
}

/** Sets `file` to 0600 when it exists and is looser; answers its old mode when it changed it. */
export function tightenFile(file: string): string | undefined {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    return undefined;
  }
  if ((mode & OTHERS) === 0) return undefined;
  chmodSync(file, 0o600);
  return modeText(mode);
}
