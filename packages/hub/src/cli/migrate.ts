import { parseCommandLine, settingsHelp } from '../config/config.js';
import type { Command } from './command.js';

const SETTINGS = ['dataDir', 'db', 'sqliteSynchronous', 'sqliteInitEmpty'] as const;

export const command: Command = {
  usage: () => `vigil migrate [options]: create or upgrade the database schema, then exit

Applies the migrations the database lacks, each in its own transaction, and says which it applied.
vigil server does the same at start; run this on its own to upgrade before starting several hubs.

Options (flag, environment variable, meaning):
${settingsHelp(SETTINGS)}
`,
  async run(argv, io) {
    const { config } = parseCommandLine(argv, io.env, { command: 'migrate', settings: SETTINGS }, io.cwd);
    const { openStore } = await import('../store/open.js');
    const { db, applied } = await openStore(config.db, {
      sqliteSynchronous: config.sqliteSynchronous,
      sqliteInitEmpty: config.sqliteInitEmpty,
      now: Date.now(),
      // A migration that moves rows (0010) says how far it is.
      onProgress: (line) => io.stdout.write(`${line}\n`),
    });
    await db.close();
    io.stdout.write(applied.length ? `applied migrations ${applied.join(', ')}\n` : 'the schema is up to date\n');
    return 0;
  },
};
