import { AGENT_STATUSES, type AgentsPage, type ListedAgent } from '@vigil/protocol';
import { apiCommand, apiHelp } from './api-command.js';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { ago, num, print, type Column } from './table.js';

/** The local actions of `vigil agents` (agents/cli.ts), which work on the database rather than the API. */
const ACTIONS = new Set(['rm', 'rename', 'pause', 'resume']);

const LIST_USAGE = `vigil agents [--status ${AGENT_STATUSES.join('|')}] [--pool NAME] [--type TYPE] [--json] [options]
                                   List the fleet through the hub's API (every page): status, CPU,
                                   memory, free GPU memory and the last heartbeat of each agent
`;

export const agentColumns = (now: number): Column<ListedAgent>[] => [
  { head: 'AGENT', cell: (a) => a.agent_id },
  { head: 'NAME', cell: (a) => a.name },
  { head: 'TYPE', cell: (a) => a.agent_type },
  { head: 'POOL', cell: (a) => a.pool_name },
  { head: 'STATUS', cell: (a) => `${a.status}${a.paused ? ' (paused)' : ''}` },
  { head: 'CPU%', cell: (a) => num(a.cpu_percent), numeric: true },
  { head: 'MEM MB', cell: (a) => num(a.memory_mb, 0), numeric: true },
  { head: 'VRAM FREE GB', cell: (a) => num(a.resource_metrics.gpu_vram_available_gb), numeric: true },
  { head: 'LAST HEARTBEAT', cell: (a) => ago(a.last_heartbeat_at, now) },
];

const list = apiCommand({
  name: 'agents',
  usage: LIST_USAGE,
  options: { status: { type: 'string' }, pool: { type: 'string' }, type: { type: 'string' } },
  async run(hub, { values }, io) {
    if (values.status !== undefined && !(AGENT_STATUSES as readonly string[]).includes(values.status)) {
      throw new UsageError(`--status must be one of ${AGENT_STATUSES.join(', ')}`);
    }
    const agents: ListedAgent[] = [];
    // Every page: a fleet listing that stopped at the first 100 agents would read as the whole fleet.
    for (let after: string | undefined, more = true; more;) {
      const page = await hub.get<AgentsPage>('/api/v1/agents', {
        status: values.status,
        pool: values.pool,
        type: values.type,
        after,
        limit: 500,
      });
      agents.push(...page.agents);
      after = page.next_cursor ?? undefined;
      more = page.next_cursor !== null && page.agents.length > 0;
    }
    print(io.stdout, values.json, agents, agentColumns(Date.now()), 'no agents');
    return 0;
  },
});

/** `vigil agents`: lists the fleet; `vigil agents rm|rename|pause|resume ID` retires agents in the database. */
export const command: Command = {
  usage: async () => `${LIST_USAGE}${(await import('../agents/cli.js')).AGENTS_USAGE}${apiHelp()}`,
  async run(argv, io) {
    if (ACTIONS.has(argv[0] ?? '')) return (await import('../agents/cli.js')).agentsCommand(argv, io.env, io.stdout, io.cwd);
    return list.run(argv, io);
  },
};
