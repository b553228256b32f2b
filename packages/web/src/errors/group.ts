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

/** The resolved per-agent groups behind a row, which Reopen reopens one by one. */
export const resolvedIds = (g: FingerprintGroup): number[] => g.ids.filter((id) => !g.unresolved.includes(id));

/** The part of an `error_reopened` live message (or of the unresolve answer) a list needs. */
export interface Reopen {
  error: StoredError;
  removed_id: number | null;
}

/**
 * A loaded list after a reopen: the row merged away is dropped and the open group that now holds
 * the failure replaces the reopened row, or joins the list if `shows` says this list shows it (an
 * open-errors list does, a resolved-errors list does not). Applying the same reopen twice (the
 * answer, then its live message) gives the same list.
 */
export function applyReopen(list: readonly StoredError[], r: Reopen, shows: (e: StoredError) => boolean = () => true): StoredError[] {
  const shown = shows(r.error);
  let placed = false;
  const out: StoredError[] = [];
  for (const e of list) {
    if (e.id !== r.error.id && e.id !== r.removed_id) out.push(e);
    else if (shown && !placed) {
      out.push(r.error);
      placed = true;
    }
  }
  if (shown && !placed) out.unshift(r.error);
  return out;
}
