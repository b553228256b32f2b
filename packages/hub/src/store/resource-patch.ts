import { MAX_RESOURCE_FIELDS, type ResourceReport, type Resources } from '@vigil/protocol';

/**
 * How a heartbeat's `resources` change the agent's latest ones: a field the heartbeat carries
 * replaces the stored value, `null` clears it, and a field it leaves out keeps its last value. Each
 * stored field's receive time is kept under `UPDATED_AT` in the same JSON document.
 */

/** The member of the stored dict that holds each field's receive time (epoch ms); no reported field can have this name. */
export const UPDATED_AT = '_updated_at';

/** The agent columns that copy a resource field, so the capacity query reads plain indexed columns. */
export const RESOURCE_COLUMNS = ['cpu_cores_available', 'memory_available_gb', 'gpu_vram_available_gb', 'gpu_type'] as const;

/**
 * The stored dict with a heartbeat's report, received at `now`, merged in: a JSON merge patch
 * (RFC 7396) of the report and its receive times, done here rather than in SQL (`json_patch`) so
 * the writer neither serializes the patch nor parses the merged dict back. A report's values are
 * scalars and arrays (the schema allows no objects), which a merge patch replaces whole. Returns a
 * new object; `stored` is left as it was (it may be a cached parse, see agents.ts).
 */
export function mergeReport(stored: Readonly<Record<string, unknown>>, report: ResourceReport, now: number): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...stored };
  const was = stored[UPDATED_AT];
  const updated: Record<string, unknown> = typeof was === 'object' && was !== null && !Array.isArray(was) ? { ...was } : {};
  for (const field of Object.keys(report)) {
    const value = report[field];
    if (value === null) {
      delete merged[field];
      delete updated[field];
    } else {
      merged[field] = value;
      updated[field] = now;
    }
  }
  // Where it was, as json_patch keeps a replaced member's place.
  merged[UPDATED_AT] = updated;
  return merged;
}

/**
 * For each of `RESOURCE_COLUMNS`, whether the heartbeat touched it (1: set it to the value, even
 * null) or not (0: keep the column), then the value.
 */
export function resourceColumnParams(report: ResourceReport): unknown[] {
  const params: unknown[] = [];
  for (const column of RESOURCE_COLUMNS) {
    const touched = Object.prototype.hasOwnProperty.call(report, column);
    params.push(touched ? 1 : 0, touched ? report[column] : null);
  }
  return params;
}

/** A stored dict parted into the resources and their receive times. */
export function splitStored(stored: Record<string, unknown>): { resources: Resources; updatedAt: Record<string, number> } {
  const { [UPDATED_AT]: updatedAt, ...resources } = stored;
  const times = typeof updatedAt === 'object' && updatedAt !== null ? (updatedAt as Record<string, number>) : {};
  return { resources: resources as Resources, updatedAt: times };
}

/**
 * A stored dict cut back to `MAX_RESOURCE_FIELDS` fields, or undefined when it is within that.
 * Heartbeats are bounded one by one, but unknown fields from different heartbeats add up; the
 * least recently reported unknown fields go first, and known fields are never dropped.
 */
export function trimStored(stored: Record<string, unknown>, known: ReadonlySet<string>): Record<string, unknown> | undefined {
  const { resources, updatedAt } = splitStored(stored);
  // Own keys only: an unknown field may be called `constructor`.
  const at = (field: string): number => (Object.hasOwn(updatedAt, field) ? (updatedAt[field] ?? 0) : 0);
  const fields = Object.keys(resources);
  const excess = fields.length - MAX_RESOURCE_FIELDS;
  if (excess <= 0) return undefined;
  const drop = new Set(
    fields
      .filter((f) => !known.has(f))
      .sort((a, b) => at(a) - at(b) || (a < b ? -1 : 1))
      .slice(0, excess),
  );
  const keep = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([f]) => !drop.has(f)));
  return { ...keep(resources), [UPDATED_AT]: keep(updatedAt) };
}
