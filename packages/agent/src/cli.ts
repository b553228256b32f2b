import { readFileSync } from 'node:fs';
import { parseRunArgs, RUN_USAGE, RunUsageError } from './run/args.js';

/**
 * The `vigil-agent` command: what an agent machine installs (`npm install -g @vigil/agent`) to run a
 * command as a monitored agent, without the hub's server, database drivers or native builds.
 * `vigil run` in the hub's CLI is the same command, reached through {@link runCommand}.
 */
export const AGENT_USAGE = `vigil-agent: run a command and report it to a Vigil hub as an agent

Usage:
  vigil-agent run [options] -- <command> [args...]
                        Run a command and report it (the same as the hub's vigil run)
  vigil-agent --version Print the version
  vigil-agent --help | vigil-agent run --help
`;

export interface AgentCliIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  signals: NodeJS.EventEmitter;
}

/** `vigil run` / `vigil-agent run`: resolves with the exit code; throws {@link RunUsageError} on bad usage. */
export async function runCommand(argv: readonly string[], io: Omit<AgentCliIo, 'stdout'>): Promise<number> {
  const args = parseRunArgs(argv, io.env);
  // Loaded only once the arguments are good: --help and usage errors stay instant.
  const { runMonitored } = await import('./run/run.js');
  return runMonitored(args, { stderr: io.stderr, env: io.env, cwd: io.cwd, signals: io.signals });
}

/** Exit codes: the command's own for `run`, 0 for help and version, 2 for bad usage. */
export async function agentMain(argv: readonly string[], io: AgentCliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    io.stdout.write(AGENT_USAGE);
    return command === undefined ? 2 : 0;
  }
  if (command === '--version' || command === '-v') {
    io.stdout.write(`${version()}\n`);
    return 0;
  }
  if (command !== 'run') throw new RunUsageError(`unknown command ${JSON.stringify(command)} (see vigil-agent --help)`);
  // Everything after `--` belongs to the wrapped command, including its own --help.
  const own = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest;
  if (own.includes('--help') || own.includes('-h')) {
    io.stdout.write(RUN_USAGE.replaceAll('vigil run', 'vigil-agent run'));
    return 0;
  }
  return runCommand(rest, io);
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
