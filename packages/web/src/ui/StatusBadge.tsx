import type { AgentStatus } from '../api/types.js';

export function StatusBadge({ status, reason }: { status: AgentStatus; reason?: string | null }) {
  const title = status === 'offline' && reason ? `offline (${reason === 'stopped' ? 'stopped' : 'missed heartbeats'})` : status;
  return (
    <span className={`status status-${status}`} title={title}>
      <span className="dot" aria-hidden="true" />
      {status}
    </span>
  );
}
