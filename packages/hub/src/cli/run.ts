import { RUN_USAGE } from '@vigil/agent/run-args';
import type { Command } from './command.js';

/** `vigil run`: a delegate to @vigil/agent's `vigil-agent run`; it loads nothing of the hub. */
export const command: Command = {
  usage: () => RUN_USAGE,
  run: async (argv, io) =>
    (await import('@vigil/agent/cli')).runCommand(argv, {
      stderr: io.stderr,
      env: io.env,
      cwd: io.cwd,
      signals: process,
    }),
};
