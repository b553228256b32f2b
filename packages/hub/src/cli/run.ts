import { parseRunArgs, RUN_USAGE } from '@vigil/agent/run-args';
import type { Command } from './command.js';

/** `vigil run`: the agent's wrapper, from @vigil/agent; it loads nothing of the hub. */
export const command: Command = {
  usage: () => RUN_USAGE,
  run: async (argv, io) =>
    (await import('@vigil/agent')).runMonitored(parseRunArgs(argv, io.env), {
      stderr: io.stderr,
      env: io.env,
      cwd: io.cwd,
      signals: process,
    }),
};
