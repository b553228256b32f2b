import { amountOf, apiCommand, limitOf } from './api-command.js';
import type { AgentView } from './agents.js';
import { UsageError } from './command.js';
import { num, print } from './table.js';

interface CapacityMatch extends AgentView {
  resource_metrics: AgentView['resource_metrics'] & { cpu_cores_available?: number };
  fitting_gpus?: { index: number; name?: string; vram_free_gb?: number }[] | null;
}

export const command = apiCommand({
  name: 'capacity',
  usage: `vigil capacity [--gpu-vram GB] [--gpus N] [--cpu CORES] [--memory GB] [--pool NAME]
               [--capability NAME] [--gpu-type TYPE] [--limit N] [--json] [options]
                                   Online agents with room for a job, best fit first

Prints GET /api/v1/capacity: the online agents whose latest heartbeat leaves --cpu cores, --memory GB
and --gpu-vram GB free on each of --gpus GPUs (default 1), with the GPUs that fit.
Example: vigil capacity --gpu-vram 16 --cpu 4 --pool gpu
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
      limit: limitOf(values.limit, 50),
    };
    const { agents } = await hub.get<{ agents: CapacityMatch[] }>('/api/v1/capacity', query);
    print(
      io.stdout,
      values.json,
      agents,
      [
        { head: 'AGENT', cell: (a) => a.agent_id },
        { head: 'NAME', cell: (a) => a.name },
        { head: 'POOL', cell: (a) => a.pool_name },
        { head: 'CORES FREE', cell: (a) => num(a.resource_metrics.cpu_cores_available), numeric: true },
        { head: 'MEM FREE GB', cell: (a) => num(a.resource_metrics.memory_available_gb), numeric: true },
        { head: 'VRAM FREE GB', cell: (a) => num(a.resource_metrics.gpu_vram_available_gb), numeric: true },
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
