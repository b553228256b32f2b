import { apiCommand, limitOf } from './api-command.js';
import { ago, print } from './table.js';

interface ErrorView {
  id: number;
  agent_id: string;
  error_type: string;
  message: string;
  occurrences: number;
  last_seen_at: number;
  resolved: boolean;
}

export const command = apiCommand({
  name: 'errors',
  usage: `vigil errors [--open] [--agent ID] [--limit N] [--json] [options]: error groups, newest first

Prints GET /api/v1/errors: one line per group of the same failure, with how many times it happened
and when last. --open shows only the unresolved groups; --limit (default 50, at most 500) how many.
`,
  options: { open: { type: 'boolean' }, agent: { type: 'string' }, limit: { type: 'string' } },
  async run(hub, { values }, io) {
    const query = { resolved: values.open ? false : undefined, agent_id: values.agent, limit: limitOf(values.limit, 50) };
    const { errors } = await hub.get<{ errors: ErrorView[] }>('/api/v1/errors', query);
    const now = Date.now();
    print(
      io.stdout,
      values.json,
      errors,
      [
        { head: 'ID', cell: (e) => String(e.id), numeric: true },
        { head: 'AGENT', cell: (e) => e.agent_id },
        { head: 'TYPE', cell: (e) => e.error_type },
        { head: 'COUNT', cell: (e) => String(e.occurrences), numeric: true },
        { head: 'LAST SEEN', cell: (e) => ago(e.last_seen_at, now) },
        { head: 'STATE', cell: (e) => (e.resolved ? 'resolved' : 'open') },
        { head: 'MESSAGE', cell: (e) => e.message },
      ],
      values.open ? 'no open errors' : 'no errors',
    );
    return 0;
  },
});
