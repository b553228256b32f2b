import type { StoredError } from '../api/types.js';

/** One failure across the fleet: every agent's group with the same fingerprint. */
export interface FingerprintGroup {
  fingerprint: string;
  error_type: string;
  /** The latest message of the most recent occurrence. */
  message: string;
  agents: string[];
  occurrences: number;
  first_seen_at: number;
  last_seen_at: number;
  /** The per-agent error groups behind it, which Resolve resolves one by one. */
  ids: number[];
  unresolved: number[];
  /** The most recently seen of them, for its stack trace and metadata. */
  latest: StoredError;
}

/**
 * Folds the hub's per-agent error groups into one row per fingerprint, most recent first. The hub
 * groups by (agent, fingerprint); the same failure on fifty agents is one problem on this page.
 */
export function groupByFingerprint(errors: readonly StoredError[]): FingerprintGroup[] {
  const groups = new Map<string, FingerprintGroup>();
  for (const e of errors) {
    let g = groups.get(e.fingerprint);
    if (!g) {
      g = {
        fingerprint: e.fingerprint,
        error_type: e.error_type,
        message: e.message,
        agents: [],
        occurrences: 0,
        first_seen_at: e.first_seen_at,
        last_seen_at: e.last_seen_at,
        ids: [],
        unresolved: [],
        latest: e,
      };
      groups.set(e.fingerprint, g);
    }
    if (!g.agents.includes(e.agent_id)) g.agents.push(e.agent_id);
    g.occurrences += e.occurrences;
    g.first_seen_at = Math.min(g.first_seen_at, e.first_seen_at);
    if (e.last_seen_at >= g.last_seen_at) {
      g.last_seen_at = e.last_seen_at;
      g.message = e.message;
      g.latest = e;
    }
    g.ids.push(e.id);
    if (!e.resolved) g.unresolved.push(e.id);
  }
  return [...groups.values()].sort((a, b) => b.last_seen_at - a.last_seen_at || a.fingerprint.localeCompare(b.fingerprint));
}
