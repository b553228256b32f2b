import type { AgentStatus } from '../api/types.js';
import { statusView } from './status.js';

export function StatusBadge({ status, reason }: { status: AgentStatus; reason?: string | null }) {
  const view = statusView(status, reason);
  return (
    <span className={`status status-${status} status-${view.kind}`} title={view.title} data-status={view.kind}>
      <span className="dot" aria-hidden="true" />
      {view.label}
    </span>
  );
}
