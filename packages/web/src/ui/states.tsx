import type { ReactNode } from 'react';

/** A spinner with words; `role="status"` so screen readers hear it once. */
export function Loading({ label, fullPage = false }: { label: string; fullPage?: boolean }) {
  return (
    <div className={fullPage ? 'state full-page' : 'state'} role="status">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state empty">
      <strong>{title}</strong>
      {children && <div className="state-detail">{children}</div>}
    </div>
  );
}

export function ErrorState({
  title,
  message,
  onRetry,
  fullPage = false,
}: {
  title: string;
  message: string;
  onRetry?: () => void;
  fullPage?: boolean;
}) {
  return (
    <div className={fullPage ? 'state error full-page' : 'state error'} role="alert">
      <strong>{title}</strong>
      <span className="state-detail">{message}</span>
      {onRetry && (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}
