import { HUB_SETTINGS, parseCommandLine, settingsHelp } from '../config/config.js';
import type { Command } from './command.js';

export const command: Command = {
  usage: () => `vigil server [options]: run the hub

Starts the HTTP API, migrates the database, and prints the URL and where the admin token is.
SIGINT or SIGTERM stops accepting requests, commits everything queued, and exits 0.

Options (flag, environment variable, meaning):
${settingsHelp(HUB_SETTINGS)}
`,
  async run(argv, io) {
    const { config } = parseCommandLine(argv, io.env, { command: 'server', settings: HUB_SETTINGS }, io.cwd);
    const { createLogger, startHub } = await import('../main.js');
    const hub = await startHub(config, { logger: createLogger(config.logLevel) });
    const fromEnv = config.adminToken !== undefined;
    const where = fromEnv ? 'the VIGIL_ADMIN_TOKEN you set' : `in ${hub.adminTokenSource} (mode 0600)`;
    const token = fromEnv ? '$VIGIL_ADMIN_TOKEN' : `$(cat ${shellQuote(hub.adminTokenSource)})`;
    io.stdout.write(
      `\nVigil hub listening on ${hub.url}\n` +
        `  database:    ${hub.db.dialect.name === 'sqlite' ? config.db : redactUrl(config.db)}\n` +
        `  dashboard:   ${hub.url}/ (sign in with the admin token)\n` +
        `  admin token: ${where}\n` +
        `  try:         curl -H "Authorization: Bearer ${token}" ${hub.url}/api/monitoring/dashboard\n\n`,
    );
    return new Promise((resolve) => {
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        if (++signals > 1) {
          io.stderr.write(`${signal} again: exiting without draining\n`);
          process.exit(1);
        }
        hub.app.log.info({ signal }, 'stopping: draining the ingest queue');
        hub.stop().then(
          () => resolve(0),
          (err: unknown) => {
            hub.app.log.error({ err }, 'shutdown failed');
            resolve(1);
          },
        );
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
  },
};

function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

function shellQuote(s: string): string {
  return /^[\w./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
