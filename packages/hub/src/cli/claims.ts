import type { Claim } from '@vigil/protocol';
import { apiCommand, limitOf } from './api-command.js';
import { UsageError } from './command.js';
import { fields, num, print } from './table.js';

/** A capacity claim as GET /api/v1/capacity/claims answers it (docs/capacity.md). */
export type ClaimView = Claim;

const STATUSES = ['active', 'released', 'expired', 'all'];

/** `#0 #1 × 40 GB`, `1 GPU × 24 GB` (an agent judged as one GPU), or `-`. */
export function gpuText(c: ClaimView): string {
  if (c.gpu_count === 0) return '-';
  const which = c.gpus ? c.gpus.map((g) => `#${g.index}`).join(' ') : `${c.gpu_count} GPU`;
  return `${which} × ${num(c.gpu_vram_gb)} GB`;
}

/** How long a lease has left (`9m 58s`), or how the claim ended. */
export function leaseText(c: ClaimView, now: number): string {
  if (c.status !== 'active') return c.status;
  const s = Math.max(0, Math.round((c.expires_at - now) / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m ${s % 60}s` : `${s}s`;
}

/** One claim as `name  value` lines, for `vigil capacity --claim` and `vigil release`. */
export function claimFields(c: ClaimView, now: number): string {
  return fields([
    ['claim', c.claim_id],
    ['job', c.job],
    ['agent', `${c.agent_id} (pool ${c.pool_name})`],
    ['cores', num(c.cpu_cores)],
    ['memory GB', num(c.memory_gb)],
    ['GPUs', gpuText(c)],
    ['lease', leaseText(c, now)],
    ['claimed by', c.claimed_by],
  ]);
}

export const command = apiCommand({
  name: 'claims',
  usage: `vigil claims [--status active|released|expired|all] [--agent ID] [--pool NAME] [--limit N] [--json] [options]
                                   Capacity claims, newest first

Prints GET /api/v1/capacity/claims: what orchestrators have reserved on which agent, and for how
much longer (active claims unless --status says otherwise). docs/capacity.md explains claims.
`,
  options: { status: { type: 'string' }, agent: { type: 'string' }, pool: { type: 'string' }, limit: { type: 'string' } },
  async run(hub, { values }, io) {
    if (values.status !== undefined && !STATUSES.includes(values.status)) {
      throw new UsageError(`--status must be one of ${STATUSES.join(', ')}`);
    }
    const query = { status: values.status, agent_id: values.agent, pool: values.pool, limit: limitOf(values.limit, 100) };
    const { claims } = await hub.get<{ claims: ClaimView[] }>('/api/v1/capacity/claims', query);
    const now = Date.now();
    print(
      io.stdout,
      values.json,
      claims,
      [
        { head: 'CLAIM', cell: (c) => c.claim_id },
        { head: 'JOB', cell: (c) => c.job },
        { head: 'AGENT', cell: (c) => c.agent_id },
        { head: 'CORES', cell: (c) => num(c.cpu_cores), numeric: true },
        { head: 'MEM GB', cell: (c) => num(c.memory_gb), numeric: true },
        { head: 'GPUS', cell: gpuText },
        { head: 'LEASE', cell: (c) => leaseText(c, now) },
        { head: 'BY', cell: (c) => c.claimed_by },
      ],
      values.status === undefined || values.status === 'active' ? 'no active claims' : 'no claims',
    );
    return 0;
  },
});
