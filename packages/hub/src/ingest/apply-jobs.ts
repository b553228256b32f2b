import type { Dialect, SqlExecutor } from '../store/db.js';
import { applyCommand, type Command, type CommandResult } from './commands.js';

/**
 * The writer's batch: each job's commands, applied in one transaction. It runs on SQLite's writer
 * thread (SqliteDb.transactionIn loads this module there) or, on PostgreSQL, on the event loop.
 */
export interface JobsInput {
  jobs: Command[][];
  /**
   * 1 at a job's index once it was answered (it passed its deadline) before its turn: it is left out,
   * so that for it 503 means "not stored". Shared memory, so the main thread can set it meanwhile.
   */
  settled: Int32Array;
}

/** Each job's results, or null for a job left out because it was answered first. */
export type JobsResult = (CommandResult[] | null)[];

export default async function applyJobs(tx: SqlExecutor, dialect: Dialect, input: unknown): Promise<JobsResult> {
  const { jobs, settled } = input as JobsInput;
  const results: JobsResult = [];
  for (const [i, commands] of jobs.entries()) {
    if (Atomics.load(settled, i) !== 0) {
      results.push(null);
      continue;
    }
    const jobResults: CommandResult[] = [];
    for (const cmd of commands) jobResults.push(await applyCommand(tx, dialect, cmd));
    results.push(jobResults);
  }
  return results;
}
