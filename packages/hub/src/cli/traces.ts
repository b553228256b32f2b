import { apiCommand, limitOf } from './api-command.js';
import { ago, num, print, usd } from './table.js';

interface TraceView {
  id: number;
  agent_id: string;
  model: string;
  input_tokens: number | null;
  output_tokens: number | null;
  cost_usd: number | null;
  latency_ms: number | null;
  status: string | null;
  timestamp: number;
}

export const command = apiCommand({
  name: 'traces',
  usage: `vigil traces [--agent ID] [--model NAME] [--limit N] [--json] [options]: LLM calls, newest first

Prints GET /api/v1/traces: one line per LLM call with its model, tokens, cost, latency and status.
--limit (default 50, at most 500) says how many.
`,
  options: { agent: { type: 'string' }, model: { type: 'string' }, limit: { type: 'string' } },
  async run(hub, { values }, io) {
    const query = { agent_id: values.agent, model: values.model, limit: limitOf(values.limit, 50) };
    const { traces } = await hub.get<{ traces: TraceView[] }>('/api/v1/traces', query);
    const now = Date.now();
    print(
      io.stdout,
      values.json,
      traces,
      [
        { head: 'ID', cell: (t) => String(t.id), numeric: true },
        { head: 'WHEN', cell: (t) => ago(t.timestamp, now) },
        { head: 'AGENT', cell: (t) => t.agent_id },
        { head: 'MODEL', cell: (t) => t.model },
        { head: 'IN TOK', cell: (t) => num(t.input_tokens, 0), numeric: true },
        { head: 'OUT TOK', cell: (t) => num(t.output_tokens, 0), numeric: true },
        { head: 'COST', cell: (t) => usd(t.cost_usd), numeric: true },
        { head: 'LATENCY MS', cell: (t) => num(t.latency_ms, 0), numeric: true },
        { head: 'STATUS', cell: (t) => t.status ?? '-' },
      ],
      'no LLM calls',
    );
    return 0;
  },
});
