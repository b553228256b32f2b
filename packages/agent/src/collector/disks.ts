import { statfsSync } from 'node:fs';
import type { DiskSample } from './types.js';

/**
 * Usage of the file systems holding `paths`. A path that cannot be examined (removed, unmounted,
 * no permission) is left out rather than reported as empty.
 */
export function sampleDisks(paths: readonly string[]): DiskSample[] {
  const out: DiskSample[] = [];
  for (const path of paths) {
    try {
      const s = statfsSync(path);
      out.push({
        path,
        usedBytes: (s.blocks - s.bfree) * s.bsize,
        totalBytes: s.blocks * s.bsize,
        availableBytes: s.bavail * s.bsize,
      });
    } catch {
      continue;
    }
  }
  return out;
}
