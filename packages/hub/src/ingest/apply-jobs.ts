import type { Dialect, SqlExecutor } from '../store/db.js';
import { HeartbeatRuns } from '../store/agents.js';
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

/**
 * Applies the commands in a stable order of agent id (each job's results still come back in its own
 * order): several hubs on one PostgreSQL write the same agent rows, and two batches that lock shared
 * rows in the same order wait for each other rather than deadlock.
 */
export default async function applyJobs(tx: SqlExecutor, dialect: Dialect, input: unknown): Promise<JobsResult> {
  const { jobs, settled } = input as JobsInput;
  const order: { job: number; cmd: number; agent: string }[] = [];
  jobs.forEach((commands, j) => commands.forEach((cmd, c) => order.push({ job: j, cmd: c, agent: agentOf(cmd) })));
  // Array.prototype.sort is stable: one agent's commands keep their order.
  order.sort((a, b) => (a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0));
  const results: JobsResult = jobs.map(() => null);
  // One agent's heartbeats in a row share one read and one UPDATE of its row (HeartbeatRuns); any
  // other command finds that row written first (another agent's heartbeat ends the run itself).
  const runs = new HeartbeatRuns(dialect);
  for (const o of order) {
    let jobResults = results[o.job];
    if (!jobResults) {
      // A job answered (past its deadline) before the transaction reached it is left out, so that for
      // it 503 means "not stored". One already begun is applied whole.
      if (Atomics.load(settled, o.job) !== 0) continue;
      results[o.job] = jobResults = new Array<CommandResult>((jobs[o.job] as Command[]).length);
    }
    const cmd = (jobs[o.job] as Command[])[o.cmd] as Command;
    if (cmd.kind !== 'heartbeat') await runs.flush(tx);
    jobResults[o.cmd] = await applyCommand(tx, dialect, cmd, runs);
  }
  await runs.flush(tx);
  // A job of no commands has nothing to apply, and is answered like the others.
  jobs.forEach((commands, j) => {
    if (commands.length === 0 && Atomics.load(settled, j) === 0) results[j] = [];
  });
  return results;
}

/** The agent a command writes, for the batch's lock order; commands of no one agent sort first. */
function agentOf(cmd: Command): string {
  switch (cmd.kind) {
    case 'register':
      return cmd.agent.agent_id;
    case 'otlp':
      return cmd.batch.agentId;
    case 'heartbeat':
    case 'event':
    case 'error':
    case 'trace':
    case 'delete_agent':
    case 'purge_agent_history':
    case 'update_agent':
      return cmd.agentId;
    default:
      return '';
  }
}
