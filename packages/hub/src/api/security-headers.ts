import type { App } from './context.js';

/**
 * The dashboard's content security policy. Scripts only from the hub's own files (no inline
 * script, no eval), so a string an agent stored cannot run even if it reached the DOM as markup
 * (docs/reliability.md W4). Styles come from files too: React and uPlot set element styles through the
 * CSSOM (`el.style.x = …`), which CSP does not govern, so no 'unsafe-inline' is needed anywhere.
 * `connect-src 'self'` covers the same-origin WebSocket in CSP level 3 browsers.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Sent with every answer, API and pages alike (docs/reliability.md W5). A route may set a stricter CSP of its own. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  // frame-ancestors in the CSP is the standard; X-Frame-Options covers browsers that predate it.
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
};

/**
 * Adds the headers to every answer, including errors and 404s. No CORS headers are ever sent: the
 * dashboard is same-origin, and agents are not browsers.
 */
export function addSecurityHeaders(app: App): void {
  // Listed once, not per answer; a callback hook, so no promise per answer either.
  const headers = Object.entries(SECURITY_HEADERS);
  app.addHook('onSend', (_req, reply, payload, done) => {
    for (const [name, value] of headers) {
      if (!reply.hasHeader(name)) reply.header(name, value);
    }
    done(null, payload);
  });
}
