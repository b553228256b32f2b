import { parseCommandLine, settingsHelp, STORE_SETTINGS } from '../config/config.js';
import type { Command } from './command.js';

const SETTINGS = [
  ...STORE_SETTINGS,
  'retentionMetricsDays',
  'retentionEventsDays',
  'retentionErrorsDays',
  'retentionTracesDays',
  'retentionRollup1hDays',
] as const;

export const command: Command = {
  usage: () => `vigil storage [--json] [options]: rows and bytes per table, and the size at the configured retention

Measures the database (rows, bytes, rows a day and the projected size per table; the file, WAL and
free space on SQLite) as GET /api/v1/storage does; --json prints the report as JSON.

Options (flag, environment variable, meaning): the database, and how long data is kept:
${settingsHelp(SETTINGS)}
`,
  async run(argv, io) {
    const { values, config } = parseCommandLine(
      argv,
      io.env,
      { command: 'storage', settings: SETTINGS, options: { json: { type: 'boolean' } } },
      io.cwd,
    );
    const { openStore } = await import('../store/open.js');
    const { storageReport, formatStorageReport } = await import('../store/storage.js');
    const { retentionFromConfig } = await import('../jobs/retention.js');
    const { db } = await openStore(config.db, { sqliteSynchronous: config.sqliteSynchronous, now: Date.now() });
    try {
      const report = await storageReport(db, retentionFromConfig(config), Date.now());
      io.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : formatStorageReport(report));
      return 0;
    } finally {
      await db.close();
    }
  },
};
