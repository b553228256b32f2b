import type { GpuDevice } from '@vigil/protocol';
import type { Resources } from '../api/types.js';

/**
 * True when the agent reports a GPU: a `gpus` array with a device, VRAM figures, or a vendor other
 * than `none`. The GPU chart and table are left out for the rest, where they could only be empty.
 */
export function hasGpu(res: Resources): boolean {
  if (Array.isArray(res.gpus) && res.gpus.length > 0) return true;
  if (typeof res.gpu_vram_total_gb === 'number' && res.gpu_vram_total_gb > 0) return true;
  return typeof res.gpu_type === 'string' && res.gpu_type !== 'none';
}

/** The agent's GPUs in index order; an empty list when it sends none (clients of the base resources dict, docs/seed-requirements.md, send only the sums). */
export function gpuList(res: Resources): GpuDevice[] {
  return Array.isArray(res.gpus) ? [...res.gpus].sort((a, b) => a.index - b.index) : [];
}

/** Share of a GPU's VRAM in use, 0-100; null without a total. */
export function vramUsedPercent(g: GpuDevice): number | null {
  return g.vram_total_gb > 0 ? Math.min(100, (100 * g.vram_used_gb) / g.vram_total_gb) : null;
}
