import { spawn } from 'node:child_process';

export type ToolResult =
  /** The tool ran to its end; `code` may still be non-zero. */
  | { kind: 'exited'; code: number; stdout: string; stderr: string }
  /** Not installed (ENOENT): a normal state of a host, not an error. */
  | { kind: 'missing' }
  | { kind: 'failed'; error: string };

export interface ToolLimits {
  timeoutMs: number;
  /** stdout beyond this kills the tool (docs/reliability.md I2: a tool printing without end must not fill memory). */
  maxBytes: number;
}

export interface RunningTool {
  result: Promise<ToolResult>;
  /** Kills the tool now; its result becomes `failed`. */
  cancel(): void;
}

const STDERR_BYTES = 4096;

/**
 * Runs `file` with a fixed argument array (never a shell), within a time and output limit.
 *
 * Not execFile: its timeout kills only the direct child, and when that is a wrapper script whose
 * own child still holds the pipe open, execFile's callback waits for the grandchild. Here the tool
 * gets its own process group, and the whole group is killed and the pipes dropped at the limit.
 */
export function runTool(file: string, args: readonly string[], limits: ToolLimits): RunningTool {
  const groups = process.platform !== 'win32';
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: groups, windowsHide: true });
  let settle: (r: ToolResult) => void = () => undefined;
  const result = new Promise<ToolResult>((resolve) => (settle = resolve));
  let done = false;
  const out: Buffer[] = [];
  let outBytes = 0;
  let err = '';

  const finish = (r: ToolResult, kill: boolean): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    if (kill) {
      try {
        if (groups && child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        else child.kill('SIGKILL');
      } catch {
        // The group is already gone: nothing is left to kill.
      }
      child.stdout.destroy();
      child.stderr.destroy();
    }
    settle(r);
  };

  const timer = setTimeout(
    () => finish({ kind: 'failed', error: `${file} timed out after ${limits.timeoutMs} ms` }, true),
    limits.timeoutMs,
  );
  child.stdout.on('data', (chunk: Buffer) => {
    outBytes += chunk.length;
    if (outBytes > limits.maxBytes) finish({ kind: 'failed', error: `${file} printed more than ${limits.maxBytes} bytes` }, true);
    else out.push(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    if (err.length < STDERR_BYTES) err += chunk.toString('utf8', 0, Math.min(chunk.length, STDERR_BYTES - err.length));
  });
  child.on('error', (e: NodeJS.ErrnoException) => {
    finish(e.code === 'ENOENT' ? { kind: 'missing' } : { kind: 'failed', error: `${file} could not run (${e.code ?? 'error'})` }, true);
  });
  child.on('close', (code, signal) => {
    if (code === null) finish({ kind: 'failed', error: `${file} was killed by ${signal ?? 'a signal'}` }, false);
    else finish({ kind: 'exited', code, stdout: Buffer.concat(out).toString('utf8'), stderr: err }, false);
  });
  return { result, cancel: () => finish({ kind: 'failed', error: `${file} was cancelled` }, true) };
}
