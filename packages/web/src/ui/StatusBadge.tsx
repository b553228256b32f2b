import type { AgentStatus } from '../api/types.js';
import { statusView } from './status.js';

export function StatusBadge({ status, reason, paused }: { status: AgentStatus; reason?: string | null; paused?: boolean }) {
  const view = statusView(status, reason, paused);
  return (
    <span className={`status status-${status} status-${view.kind}`} title={view.title} data-status={view.kind}>
      <span className="dot" aria-hidden="true" />
      {view.label}
    </span>
  );
}
