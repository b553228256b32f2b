/** What every `vigil` subcommand is: its own --help and how it runs. One module per command, one entry in cli.ts. */
export interface Command {
  /** The command's own --help. */
  usage(): string | Promise<string>;
  /** Runs with the arguments after the command's name; resolves to the exit code (EXIT). */
  run(argv: string[], io: Io): Promise<number>;
}

/** The process's surroundings, passed in so a command reads and writes nothing else. */
export interface Io {
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  cwd: string;
}

/**
 * Exit codes scripts can rely on (docs/cli.md): 1 a request failed (the hub answered an error, or a
 * local command failed), 2 the command line or configuration is wrong, 3 the hub could not be reached.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** A wrong command line that is not a setting: printed after `vigil: `, exit 2. */
export class UsageError extends Error {}
