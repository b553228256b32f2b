import { apiCommand } from './api-command.js';
import { UsageError } from './command.js';
import { num, print, usd } from './table.js';

const GROUPS = ['agent', 'model', 'pool'] as const;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

interface UsageGroup {
  key: string;
  calls: number;
  error_rate: number;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number;
  p50_latency_ms: number | null;
  p95_latency_ms: number | null;
}

export const command = apiCommand({
  name: 'usage',
  usage: `vigil usage [--by agent|model|pool] [--since DURATION] [--json] [options]: LLM usage

Prints GET /api/v1/llm/usage: calls, error rate, tokens, cost and p50/p95 latency per agent (default),
model or pool, over the last --since (30m, 24h, 7d; default 24h, at most 31d). --json prints the
hub's whole answer ({group_by, from, to, groups}).
`,
  options: { by: { type: 'string' }, since: { type: 'string' } },
  async run(hub, { values }, io) {
    const by = values.by ?? 'agent';
    if (!(GROUPS as readonly string[]).includes(by)) throw new UsageError(`--by must be one of ${GROUPS.join(', ')}`);
    const span = /^(\d+)([mhd])$/.exec(values.since ?? '24h');
    if (!span) throw new UsageError('--since must be a number and a unit, e.g. 30m, 24h or 7d');
    const to = Date.now() + 1;
    const from = to - Number(span[1]) * UNIT_MS[span[2] as keyof typeof UNIT_MS];
    const body = await hub.get<{ groups: UsageGroup[] }>('/api/v1/llm/usage', { group_by: by, from: Math.max(0, from), to });
    if (values.json) {
      io.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
      return 0;
    }
    print(
      io.stdout,
      false,
      body.groups,
      [
        { head: by.toUpperCase(), cell: (g) => g.key },
        { head: 'CALLS', cell: (g) => String(g.calls), numeric: true },
        { head: 'ERRORS%', cell: (g) => num(g.error_rate * 100), numeric: true },
        { head: 'IN TOK', cell: (g) => String(g.input_tokens), numeric: true },
        { head: 'OUT TOK', cell: (g) => String(g.output_tokens), numeric: true },
        { head: 'COST', cell: (g) => usd(g.cost_usd), numeric: true },
        { head: 'P50 MS', cell: (g) => num(g.p50_latency_ms, 0), numeric: true },
        { head: 'P95 MS', cell: (g) => num(g.p95_latency_ms, 0), numeric: true },
      ],
      'no LLM calls in that time',
    );
    return 0;
  },
});
