import { StorageReport as StorageReportSchema } from '@vigil/protocol';
import { storageReport, type StorageReport } from '../store/storage.js';
import type { Routes } from './context.js';
import { REFUSALS } from './responses.js';

/** What the database holds and will hold: rows and bytes per table, files, retention, projection. */
export const storageRoutes: Routes = (app, { db, clock, retention }) => {
  // Measuring a SQLite file reads every page (in a worker thread); callers arriving meanwhile share that one reading.
  let inFlight: Promise<StorageReport> | undefined;
  app.get(
    '/api/v1/storage',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'Rows and bytes per table, database and WAL files, retention, and the projected size at that retention',
        tags: ['storage'],
        response: { 200: StorageReportSchema, ...REFUSALS },
      },
    },
    async () => {
      inFlight ??= storageReport(db, retention, clock.now()).finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    },
  );
};
