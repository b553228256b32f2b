import { AgentId } from '@vigil/protocol';
import { ConfigError, parseCommandLine, settingsHelp, STORE_SETTINGS } from '../config/config.js';
import { deleteAgent, purgeAgentHistory, updateAgent, type AgentPatch } from '../store/retire.js';
import { openStore } from '../store/open.js';

export const AGENTS_USAGE = `vigil agents rm ID [--keep-history] [options]
                                   Delete agent ID and its history (metrics, rollups, events, errors,
                                   traces, alerts); --keep-history leaves the history to retention
vigil agents rename ID NAME [options]
                                   Change the name agent ID is shown by
vigil agents pause ID [options]    Pause monitoring of agent ID: its open alerts end and no alert fires
                                   for it (heartbeats are still taken and shown)
vigil agents resume ID [options]   Resume monitoring of agent ID

A deleted agent leaves the dashboard and every list. Only a pool key or the admin token can register
it again (it then comes back as a new agent); its own agent key is refused (VIGIL_AGENT_DELETED).
A running hub applies pauses and deletions made here within its alert timer (5 s); the API
(DELETE or PATCH /api/v1/agents/ID) applies them at once and tells webhooks of the alerts they end.
These actions work on the database, found by these options (flag, environment variable, meaning):
${settingsHelp(STORE_SETTINGS)}
`;

/** The API's own rule for agent ids (packages/protocol), so the CLI refuses what the API would. */
const AGENT_ID = new RegExp((AgentId as unknown as { pattern: string }).pattern);

/** Rows of history removed per transaction, so a running hub's writes go on between them. */
const HISTORY_BATCH_ROWS = 5_000;

/** `vigil agents rm|rename|pause|resume …`: retires agents in the store directly, as `vigil keys` and `vigil alerts rules` do. */
export async function agentsCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  out: NodeJS.WritableStream,
  cwd = process.cwd(),
): Promise<number> {
  const { values, positionals, config } = parseCommandLine(
    argv,
    env,
    { command: 'agents', settings: STORE_SETTINGS, options: { 'keep-history': { type: 'boolean' } }, positionals: 3 },
    cwd,
  );
  const [sub, ...rest] = positionals;
  const wanted = { rm: 1, rename: 2, pause: 1, resume: 1 }[sub ?? ''];
  if (wanted === undefined) throw new ConfigError(`unknown agents command ${JSON.stringify(sub ?? '')}: use rm, rename, pause or resume`);
  if (rest.length !== wanted) {
    throw new ConfigError(`agents ${sub} needs ${wanted === 1 ? 'an agent id' : 'an agent id and a name'} (vigil agents --help)`);
  }
  if (values['keep-history'] && sub !== 'rm') throw new ConfigError('--keep-history goes with agents rm only');
  const [agentId, name] = rest as [string, string | undefined];
  if (!AGENT_ID.test(agentId)) throw new ConfigError(`${JSON.stringify(agentId)} is not an agent id`);
  if (name !== undefined && (name.length === 0 || name.length > 200)) throw new ConfigError('the name must be 1 to 200 characters');
  const now = Date.now();
  const { db } = await openStore(config.db, { sqliteSynchronous: config.sqliteSynchronous, now });
  try {
    if (sub === 'rm') {
      const keepHistory = values['keep-history'] ?? false;
      const result = await db.transaction((tx) => deleteAgent(tx, db.dialect, agentId, keepHistory, now));
      if (!result.ok) return notFound(agentId);
      let rows = 0;
      for (let done = false; !done;) {
        const step = await db.transaction((tx) => purgeAgentHistory(tx, agentId, HISTORY_BATCH_ROWS));
        rows += step.deleted;
        done = step.done;
      }
      const what = result.deleted ? 'deleted agent' : 'agent already deleted:';
      out.write(`${what} ${agentId}; ${keepHistory ? 'history kept until retention' : `${rows} rows of history removed`}\n`);
      return 0;
    }
    const patch: AgentPatch = sub === 'rename' ? { name } : { paused: sub === 'pause' };
    const result = await db.transaction((tx) => updateAgent(tx, db.dialect, agentId, patch, now));
    if (!result.ok) return notFound(agentId);
    const ended = result.alerts.resolved.length + result.alerts.cancelled.length;
    if (sub === 'rename') out.write(`renamed ${agentId} to ${JSON.stringify(result.agent.name)}\n`);
    else if (sub === 'pause') out.write(`paused monitoring of ${agentId}${ended ? `; ${ended} open alert(s) ended` : ''}\n`);
    else out.write(`resumed monitoring of ${agentId}\n`);
    return 0;
  } finally {
    await db.close();
  }
}

function notFound(agentId: string): number {
  process.stderr.write(`no agent ${JSON.stringify(agentId)}\n`);
  return 1;
}
