import type { AgentStatus } from '../api/types.js';

/** How an agent's state reads: offline agents say why, since a crash, a stop and a silence call for different things. */
export interface StatusView {
  /** What the badge says. */
  label: string;
  /**
   * `online`, `busy`, or for an offline agent `crashed`, `stopped`, `silent` (missed heartbeats) or
   * `offline`; `paused` whatever its status while its monitoring is paused.
   */
  kind: AgentStatus | 'crashed' | 'stopped' | 'silent' | 'paused';
  /** The longer explanation shown on hover. */
  title: string;
}

export function statusView(status: AgentStatus, reason: string | null | undefined, paused = false): StatusView {
  if (paused) {
    const now = status === 'offline' ? statusView(status, reason).label : status;
    return { label: 'paused', kind: 'paused', title: `monitoring paused: no alert fires for it (now ${now})` };
  }
  if (status !== 'offline') return { label: status, kind: status, title: status };
  switch (reason) {
    case 'crashed':
      return { label: 'crashed', kind: 'crashed', title: 'offline: its command exited without being asked to' };
    case 'failed_to_start':
      return { label: 'failed to start', kind: 'crashed', title: 'offline: its command could not be started' };
    case 'stopped':
      return { label: 'stopped', kind: 'stopped', title: 'offline: a planned stop' };
    case 'missed_heartbeats':
      return { label: 'silent', kind: 'silent', title: 'offline: no heartbeat for several intervals' };
    default:
      return { label: 'offline', kind: 'offline', title: 'offline' };
  }
}
