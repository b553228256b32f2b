/** Whether a `--db` value names a PostgreSQL server (a postgres:// URL) rather than a SQLite file. */
export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}
