import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { VigilError } from '../errors.js';

/** Whether a browser's `Origin` names this hub (the `Host` it was reached by). */
export function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Refuses a browser request that another site's page made: a foreign `Origin`, or a
 * `Sec-Fetch-Site` other than same-origin. Requests without either (curl, agents) carry no ambient
 * credentials a page could borrow, so they pass; the CSRF token check covers old browsers.
 */
export function assertSameSite(req: FastifyRequest): void {
  const origin = req.headers.origin;
  if (origin !== undefined && !sameOrigin(origin, req.headers.host)) {
    throw new VigilError('VIGIL_CSRF_REJECTED', 'This request comes from another origin');
  }
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new VigilError('VIGIL_CSRF_REJECTED', 'This request comes from another site');
  }
}

/** Compares two secrets without an early exit. */
export function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
