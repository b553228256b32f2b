import { useState } from 'react';
import { Link } from '../app/navigation.js';
import type { StoredError } from '../api/types.js';
import { formatCount, formatDateTime, formatTime, formatValue } from '../ui/format.js';
import { isCut, useWholeItem } from '../ui/whole.js';
import type { FingerprintGroup } from './group.js';

type GroupAction = (g: FingerprintGroup) => Promise<void>;

/**
 * Error groups, one per fingerprint, each with its latest stack trace (as text) and a Resolve
 * button that resolves every unresolved per-agent group behind it; a fully resolved group gets a
 * Reopen button instead when `onReopen` is given.
 */
export function ErrorGroupList({
  groups,
  now,
  onResolve,
  onReopen,
  showAgents = true,
}: {
  groups: readonly FingerprintGroup[];
  now: number;
  onResolve: GroupAction;
  onReopen?: GroupAction | undefined;
  showAgents?: boolean;
}) {
  return (
    <ul className="error-groups">
      {groups.map((g) => (
        <ErrorGroupItem key={g.fingerprint} g={g} now={now} onResolve={onResolve} onReopen={onReopen} showAgents={showAgents} />
      ))}
    </ul>
  );
}

function ErrorGroupItem({
  g,
  now,
  onResolve,
  onReopen,
  showAgents,
}: {
  g: FingerprintGroup;
  now: number;
  onResolve: GroupAction;
  onReopen: GroupAction | undefined;
  showAgents: boolean;
}) {
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [expanded, setExpanded] = useState(false);
  // The list carries a preview of long stack traces and metadata; expanding fetches the whole group.
  const cut = isCut(g.latest);
  const whole = useWholeItem(`/api/v1/errors/${g.latest.id}`, expanded && cut, (b: { error: StoredError }) => b.error);
  const shown = whole.item ?? g.latest;
  const open = g.unresolved.length > 0;
  const run = async (action: GroupAction) => {
    setBusy(true);
    setProblem(null);
    try {
      await action(g);
    } catch (err) {
      setProblem(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  const meta = Object.entries(shown.metadata);
  return (
    <li className={open ? 'error-group' : 'error-group resolved'} data-fingerprint={g.fingerprint} data-error-ids={g.ids.join(' ')}>
      <div className="error-head">
        <span className="error-type">{g.error_type}</span>
        <span className="error-count" title="occurrences">
          ×{formatCount(g.occurrences)}
        </span>
        <span className="muted small" title={`first ${formatDateTime(g.first_seen_at)}, last ${formatDateTime(g.last_seen_at)}`}>
          last {formatTime(g.last_seen_at, now)}
        </span>
        <span className="spacer" />
        {open ? (
          <button
            type="button"
            className="button small"
            onClick={() => void run(onResolve)}
            disabled={busy}
            title={g.agents.length > 1 ? `Resolves it on all ${g.agents.length} agents` : undefined}
          >
            {busy ? 'Resolving…' : 'Resolve'}
          </button>
        ) : (
          <>
            <span className="badge">resolved</span>
            {onReopen && (
              <button
                type="button"
                className="button small"
                onClick={() => void run(onReopen)}
                disabled={busy}
                title={g.agents.length > 1 ? `Reopens it on all ${g.agents.length} agents` : undefined}
              >
                {busy ? 'Reopening…' : 'Reopen'}
              </button>
            )}
          </>
        )}
      </div>
      <p className="error-message">{g.message}</p>
      {showAgents && (
        <p className="small muted">
          {g.agents.length === 1 ? 'Agent ' : `${formatCount(g.agents.length)} agents: `}
          {g.agents.slice(0, 8).map((a, i) => (
            <span key={a}>
              {i > 0 && ', '}
              <Link to={{ page: 'agent', agentId: a }}>{a}</Link>
            </span>
          ))}
          {g.agents.length > 8 && ` and ${formatCount(g.agents.length - 8)} more`}
        </p>
      )}
      {(shown.stack_trace || meta.length > 0 || cut) && (
        <details onToggle={(e) => setExpanded(e.currentTarget.open)}>
          <summary>Stack trace and details</summary>
          {shown === g.latest && cut && (
            <p className="muted small" data-loading-whole>
              {whole.problem ? `The whole error could not be loaded: ${whole.problem}` : 'Loading the whole error…'}
            </p>
          )}
          {shown !== g.latest && shown.message !== g.message && <p className="error-message">{shown.message}</p>}
          {shown.stack_trace && (
            // Remounted when the whole error replaces the preview, so it opens on the end again.
            <pre className="stack" ref={scrollToEnd} key={shown === g.latest ? 'preview' : 'whole'}>
              {shown.stack_trace}
            </pre>
          )}
          {meta.length > 0 && (
            <dl className="kv small">
              {meta.map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd>{formatValue(v, 500)}</dd>
                </div>
              ))}
            </dl>
          )}
          <p className="muted small">Fingerprint {g.fingerprint.slice(0, 16)}</p>
        </details>
      )}
      {problem && (
        <p className="form-error" role="alert">
          {problem}
        </p>
      )}
    </li>
  );
}

/** A stack box opens on its end: a crash's stderr tail ends with the traceback and the exception. */
function scrollToEnd(el: HTMLPreElement | null): void {
  if (el) el.scrollTop = el.scrollHeight;
}
