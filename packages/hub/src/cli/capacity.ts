import { amountOf, apiCommand, limitOf } from './api-command.js';
import type { CapacityMatch } from '@vigil/protocol';
import { UsageError } from './command.js';
import { claimFields, type ClaimView } from './claims.js';
import { num, print } from './table.js';

/** A measured free figure less what claims reserve of it. */
const less = (measured: number | undefined, reserved: number) => (measured === undefined ? undefined : measured - reserved);

export const command = apiCommand({
  name: 'capacity',
  usage: `vigil capacity [--gpu-vram GB] [--gpus N] [--cpu CORES] [--memory GB] [--pool NAME]
               [--capability NAME] [--gpu-type TYPE] [--limit N] [--json] [options]
                                   Online agents with room for a job, best fit first
       vigil capacity ... --claim --job NAME [--lease 10m]
                                   Reserve the best fit for a job, for a lease

Prints GET /api/v1/capacity: the online agents whose latest heartbeat leaves --cpu cores, --memory GB
and --gpu-vram GB free on each of --gpus GPUs (default 1), with the GPUs that fit.
Free figures are what the agents measured less what active claims reserve.
Example: vigil capacity --gpu-vram 16 --cpu 4 --pool gpu

--claim reserves what was asked on the best-fitting agent (POST /api/v1/capacity/claim) and prints the
claim; --job names what it is for (required), --lease how long it holds unless renewed (90s, 10m, 2h;
default 10m, at most 24h). Nothing fitting exits 1 with VIGIL_NO_CAPACITY. vigil claims lists claims,
vigil release ID ends one; docs/capacity.md explains them.
Example: vigil capacity --gpu-vram 40 --cpu 8 --pool gpu --claim --job finetune-7b --lease 15m
`,
  options: {
    'gpu-vram': { type: 'string' },
    gpus: { type: 'string' },
    cpu: { type: 'string' },
    memory: { type: 'string' },
    pool: { type: 'string' },
    capability: { type: 'string' },
    'gpu-type': { type: 'string' },
    limit: { type: 'string' },
    claim: { type: 'boolean' },
    job: { type: 'string' },
    lease: { type: 'string' },
  },
  async run(hub, { values }, io) {
    const gpus = amountOf('--gpus', values.gpus);
    if (gpus !== undefined && !Number.isInteger(gpus)) throw new UsageError('--gpus must be a whole number');
    const query = {
      min_gpu_vram_gb: amountOf('--gpu-vram', values['gpu-vram']),
      gpu_count: gpus,
      min_cpu_cores: amountOf('--cpu', values.cpu),
      min_memory_gb: amountOf('--memory', values.memory),
      pool: values.pool,
      capability: values.capability,
      gpu_type: values['gpu-type'],
    };
    if (values.claim) {
      if (values.job === undefined || values.job.trim() === '') throw new UsageError('--claim needs --job NAME: what the capacity is for');
      const body = { ...query, job: values.job, lease_seconds: leaseSeconds(values.lease) };
      const claim = await hub.request<ClaimView>('POST', '/api/v1/capacity/claim', { body });
      io.stdout.write(values.json ? `${JSON.stringify(claim, null, 2)}\n` : claimFields(claim, Date.now()));
      return 0;
    }
    if (values.job !== undefined || values.lease !== undefined) throw new UsageError('--job and --lease go with --claim');
    const { agents } = await hub.get<{ agents: CapacityMatch[] }>('/api/v1/capacity', { ...query, limit: limitOf(values.limit, 50) });
    print(
      io.stdout,
      values.json,
      agents,
      [
        { head: 'AGENT', cell: (a) => a.agent_id },
        { head: 'NAME', cell: (a) => a.name },
        { head: 'POOL', cell: (a) => a.pool_name },
        { head: 'CORES FREE', cell: (a) => num(less(a.resource_metrics.cpu_cores_available, a.reserved.cpu_cores)), numeric: true },
        { head: 'MEM FREE GB', cell: (a) => num(less(a.resource_metrics.memory_available_gb, a.reserved.memory_gb)), numeric: true },
        { head: 'VRAM FREE GB', cell: (a) => num(less(a.resource_metrics.gpu_vram_available_gb, a.reserved.gpu_vram_gb)), numeric: true },
        { head: 'CLAIMS', cell: (a) => String(a.reserved.claims), numeric: true },
        {
          head: 'GPUS THAT FIT',
          cell: (a) => (a.fitting_gpus ?? []).map((g) => `#${g.index} (${num(g.vram_free_gb)} GB)`).join(' ') || '-',
        },
      ],
      'no online agent has that much room',
    );
    return 0;
  },
});

const UNIT_S: Record<string, number> = { s: 1, m: 60, h: 3600 };

/** --lease 90s | 10m | 2h (a bare number is seconds): the claim's lease in seconds, at most a day. */
export function leaseSeconds(raw: string | undefined): number {
  if (raw === undefined) return 600;
  const m = /^(\d{1,6})([smh]?)$/.exec(raw.trim());
  const seconds = m ? Number(m[1]) * (UNIT_S[m[2] || 's'] ?? 1) : NaN;
  if (!(seconds >= 1 && seconds <= 86_400))
    throw new UsageError(`--lease must be a duration from 1s to 24h such as 90s, 10m or 2h, not ${JSON.stringify(raw)}`);
  return seconds;
}
