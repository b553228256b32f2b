import { HUB_SETTINGS, parseCommandLine } from '../config/config.js';
import { UsageError, type Command } from './command.js';

export const command: Command = {
  usage: () => `vigil demo [--agents N] [options]: a hub with simulated agents, to try the dashboard

Starts a hub on a temporary SQLite directory (removed on exit) with N simulated agents (8 by default,
at most 1000) that report through the real API every 2 s, with wandering CPU and memory, GPUs on
some, occasional errors, warnings, restarts and crashes. Prints the dashboard's URL and a token.
Takes the server's options (vigil server --help), e.g. --port 7071. SIGINT or SIGTERM stops it.
`,
  async run(argv, io) {
    // Checks every server option here, so a mistake is reported with the demo's own usage error.
    const { values, settingArgs } = parseCommandLine(
      argv,
      io.env,
      { command: 'demo', settings: HUB_SETTINGS, options: { agents: { type: 'string' } } },
      io.cwd,
    );
    const agents = Number(values.agents ?? 8);
    if (!/^\d+$/.test(values.agents ?? '8') || agents < 1 || agents > 1000)
      throw new UsageError('--agents must be an integer from 1 to 1000');
    const { startDemo } = await import('../demo/demo.js');
    const running = await startDemo({ serverArgs: settingArgs, env: io.env, agents, out: io.stdout });
    return new Promise((resolve) => {
      const onSignal = () =>
        running.stop().then(
          () => resolve(0),
          () => resolve(1),
        );
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    });
  },
};
