/**
 * Measures a SQLite database table by table, in a worker thread: dbstat reads every page of the
 * file, which takes seconds on a database of gigabytes, and better-sqlite3 would block the hub's
 * event loop (and so its ingest) for all of it. Opens its own read-only connection.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { TableFootprint } from './db.js';

export interface DbstatAnswer {
  method: 'dbstat' | 'page_count';
  tables: TableFootprint[];
}

function measure(path: string): DbstatAnswer {
  const db = new Database(path, { readonly: true });
  try {
    db.pragma('busy_timeout = 5000');
    const owners = db
      .prepare("SELECT name, tbl_name FROM sqlite_schema WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_stat%'")
      .all() as { name: string; tbl_name: string }[];
    const tableOf = new Map(owners.map((o) => [o.name, o.tbl_name]));
    const tables = new Map<string, TableFootprint>();
    for (const o of owners) {
      if (o.name === o.tbl_name && !o.name.startsWith('sqlite_'))
        tables.set(o.name, { name: o.name, rows: 0, rowsEstimated: false, bytes: 0 });
    }
    // A rowid table's rows are the cells of its leaf pages (interior cells only repeat keys); a
    // WITHOUT ROWID table is a B-tree whose interior cells are rows too.
    const clustered = new Set(
      (db.prepare("SELECT name FROM pragma_table_list WHERE schema = 'main' AND wr = 1").all() as { name: string }[]).map((r) => r.name),
    );
    let stats: { name: string; bytes: number; leaf_cells: number; cells: number }[];
    try {
      stats = db
        .prepare(
          "SELECT name, SUM(pgsize) AS bytes, SUM(CASE WHEN pagetype = 'leaf' THEN ncell ELSE 0 END) AS leaf_cells, SUM(ncell) AS cells FROM dbstat GROUP BY name",
        )
        .all() as typeof stats;
    } catch {
      // Built without SQLITE_ENABLE_DBSTAT_VTAB: count rows, and leave bytes to the file's total.
      for (const t of tables.values()) {
        t.rows = Number((db.prepare(`SELECT COUNT(*) AS n FROM "${t.name}"`).get() as { n: number }).n);
        t.bytes = null;
      }
      return { method: 'page_count', tables: [...tables.values()] };
    }
    for (const s of stats) {
      const table = tables.get(tableOf.get(s.name) ?? '');
      if (!table) continue;
      table.bytes = (table.bytes ?? 0) + Number(s.bytes);
      if (s.name === table.name) table.rows = Number(clustered.has(s.name) ? s.cells : s.leaf_cells);
    }
    return { method: 'dbstat', tables: [...tables.values()] };
  } finally {
    db.close();
  }
}

if (parentPort) parentPort.postMessage(measure((workerData as { path: string }).path));
