import { ALERT_STATES, type Alert } from '@vigil/protocol';
import { apiCommand, apiHelp, limitOf } from './api-command.js';
import { UsageError, type Command } from './command.js';
import { ago, num, print } from './table.js';

const LIST_USAGE = `vigil alerts [--state ${ALERT_STATES.join('|')}] [--agent ID] [--limit N] [--json] [options]
                                   List alerts through the hub's API, newest first (--limit: 50, at most 500)
`;

const list = apiCommand({
  name: 'alerts',
  usage: LIST_USAGE,
  options: { state: { type: 'string' }, agent: { type: 'string' }, limit: { type: 'string' } },
  async run(hub, { values }, io) {
    if (values.state !== undefined && !(ALERT_STATES as readonly string[]).includes(values.state)) {
      throw new UsageError(`--state must be one of ${ALERT_STATES.join(', ')}`);
    }
    const query = { state: values.state, agent_id: values.agent, limit: limitOf(values.limit, 50) };
    const { alerts } = await hub.get<{ alerts: Alert[] }>('/api/v1/alerts', query);
    const now = Date.now();
    print(
      io.stdout,
      values.json,
      alerts,
      [
        { head: 'ID', cell: (a) => String(a.id), numeric: true },
        { head: 'STATE', cell: (a) => `${a.state}${a.acknowledged_at !== null && a.state !== 'resolved' ? ' (acked)' : ''}` },
        { head: 'SEVERITY', cell: (a) => a.severity },
        { head: 'RULE', cell: (a) => a.rule_name },
        { head: 'AGENT', cell: (a) => a.agent_id },
        { head: 'VALUE', cell: (a) => num(a.last_value ?? a.value, 2), numeric: true },
        { head: 'SINCE', cell: (a) => ago(a.started_at ?? a.pending_since, now) },
        { head: 'MESSAGE', cell: (a) => a.message },
      ],
      values.state ? `no ${values.state} alerts` : 'no alerts',
    );
    return 0;
  },
});

/** `vigil alerts`: lists alerts; `vigil alerts rules …` manages rules in the database (alerts/cli.ts). */
export const command: Command = {
  usage: async () => `${LIST_USAGE}${(await import('../alerts/cli.js')).ALERTS_USAGE}${apiHelp()}`,
  async run(argv, io) {
    if (argv[0] === 'rules') return (await import('../alerts/cli.js')).alertsCommand(argv, io.env, io.stdout, io.cwd);
    return list.run(argv, io);
  },
};
