import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** The PostgreSQL server the tests use; CI sets VIGIL_REQUIRE_PG=1 so a missing server fails instead of skipping. */
export const PG_ADMIN_URL = process.env.VIGIL_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REQUIRE_PG = process.env.VIGIL_REQUIRE_PG === '1';

let pgProbe: Promise<string | undefined> | undefined;

/** Undefined when PostgreSQL answers; otherwise why not. Throws when CI requires it. */
export function postgresUnavailable(): Promise<string | undefined> {
  pgProbe ??= (async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 20_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return undefined;
    } catch (err) {
      const why = `PostgreSQL at ${PG_ADMIN_URL} is not reachable (${(err as Error).message})`;
      if (REQUIRE_PG) throw new Error(`${why}, and VIGIL_REQUIRE_PG=1 requires it`);
      process.stderr.write(`# SKIP PostgreSQL tests: ${why}. Set VIGIL_REQUIRE_PG=1 to fail instead.\n`);
      return why;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return pgProbe;
}

export function tempDir(prefix = 'vigil-test-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** A fresh database for one test file: its URL, and a function that drops it. */
export async function createPgDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `vigil_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export type Dialect = 'sqlite' | 'postgres';
export const DIALECTS: Dialect[] = ['sqlite', 'postgres'];

/** A store target for a dialect: a SQLite file in a temp dir, or a new PostgreSQL database. */
export async function storeTarget(dialect: Dialect, dir: string): Promise<{ target: string; cleanup(): Promise<void> }> {
  if (dialect === 'sqlite') return { target: join(dir, 'vigil.db'), cleanup: async () => undefined };
  const db = await createPgDatabase();
  return { target: db.url, cleanup: db.drop };
}
