import { useConnection, useNow, useServices } from '../app/services.js';

/** Whether the page is live, and when it will try again if not; a click retries at once. */
export function ConnectionBadge() {
  const state = useConnection();
  const { feed } = useServices();
  const now = useNow(1000);
  let text: string;
  let tone: 'ok' | 'warn' | 'bad';
  switch (state.kind) {
    case 'live':
      text = 'Live';
      tone = 'ok';
      break;
    case 'connecting':
      text = 'Connecting…';
      tone = 'warn';
      break;
    case 'reconnecting': {
      const s = Math.ceil((state.retryAt - now) / 1000);
      text = s > 0 ? `Offline · retry in ${s} s` : 'Reconnecting…';
      tone = 'bad';
      break;
    }
    case 'signed-out':
      text = 'Signed out';
      tone = 'bad';
      break;
    case 'stopped':
      text = 'Stopped';
      tone = 'bad';
      break;
  }
  const canRetry = state.kind === 'reconnecting' && state.retryAt > now;
  return (
    <div className="connection" role="status" aria-live="polite" data-state={state.kind}>
      <span className={`dot ${tone}`} aria-hidden="true" />
      <span className="connection-text">{text}</span>
      {canRetry && (
        <button type="button" className="link-button" onClick={() => feed.retryNow()}>
          Retry now
        </button>
      )}
    </div>
  );
}
