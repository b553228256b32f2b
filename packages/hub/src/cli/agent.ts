import { AgentId, type AgentDetail } from '@vigil/protocol';
import { apiCommand } from './api-command.js';
import { UsageError } from './command.js';
import { ago, fields, num, usd } from './table.js';

/** The API's own rule for agent ids, so a typo is a usage error (exit 2) rather than a request. */
const AGENT_ID = new RegExp((AgentId as unknown as { pattern: string }).pattern);

export const command = apiCommand({
  name: 'agent',
  usage: `vigil agent ID [--json] [options]: one agent, with its latest resources and LLM totals

Prints GET /api/v1/agents/ID: who the agent is, its status, its latest CPU, memory and GPU figures,
and its LLM calls, tokens and cost over the last 30 days. An unknown ID exits 1 with
VIGIL_AGENT_NOT_FOUND.
`,
  options: {},
  positionals: 1,
  async run(hub, { values, positionals }, io) {
    const id = positionals[0];
    if (id === undefined) throw new UsageError('agent needs an agent id (vigil agent --help)');
    if (!AGENT_ID.test(id)) throw new UsageError(`${JSON.stringify(id)} is not an agent id`);
    const { agent: a } = await hub.get<{ agent: AgentDetail }>(`/api/v1/agents/${encodeURIComponent(id)}`);
    if (values.json) {
      io.stdout.write(`${JSON.stringify(a, null, 2)}\n`);
      return 0;
    }
    const now = Date.now();
    const r = a.resource_metrics;
    const t = a.llm_totals;
    const status = `${a.status}${a.offline_reason ? ` (${a.offline_reason})` : ''}${a.paused ? ', monitoring paused' : ''}`;
    const gpus = (r.gpus ?? []).map((g) =>
      `#${g.index} ${g.name ?? ''} ${num(g.vram_free_gb)}/${num(g.vram_total_gb)} GB free`.replace(/ +/g, ' '),
    );
    io.stdout.write(
      fields([
        ['agent', a.agent_id],
        ['name', a.name],
        ['type', a.agent_type],
        ['pool', a.pool_name],
        ['status', status],
        ['capabilities', a.capabilities.join(', ') || '-'],
        ['last heartbeat', `${ago(a.last_heartbeat_at, now)} (every ${a.heartbeat_interval_s} s)`],
        ['registered', ago(a.registered_at, now)],
        [
          'agent figures',
          known([
            ['CPU', a.cpu_percent, '%'],
            ['memory', a.memory_mb, ' MB'],
            ['messages', a.message_count, ''],
          ]),
        ],
        [
          'host',
          known([
            ['CPU', r.cpu_percent, '%'],
            ['cores free', r.cpu_cores_available, ''],
            ['memory used', r.memory_percent, '%'],
            ['memory free', r.memory_available_gb, ' GB'],
          ]),
        ],
        [
          'gpu',
          r.gpu_vram_total_gb === undefined
            ? '-'
            : `${r.gpu_type ?? ''} ${num(r.gpu_vram_available_gb)}/${num(r.gpu_vram_total_gb)} GB free`.trim(),
        ],
        ...gpus.map((g) => ['', g] as const),
        ['last LLM activity', ago(a.last_llm_activity_at, now)],
        ['LLM (30 days)', `${t.calls} calls, ${t.errors} errors, ${t.input_tokens} in / ${t.output_tokens} out tokens, ${usd(t.cost_usd)}`],
      ]),
    );
    return 0;
  },
});

/** `CPU 12.5%, memory 300 MB`: the figures the agent reported, leaving out those it did not ('-' for none). */
function known(figures: [string, number | null | undefined, string][]): string {
  const shown = figures.filter(([, value]) => value !== null && value !== undefined);
  return shown.map(([label, value, unit]) => `${label} ${num(value)}${unit}`).join(', ') || '-';
}
