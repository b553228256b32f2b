import type { RegisteredRoute } from '../../src/api/context.js';
import type { TestHub } from './hub.js';

/**
 * Every route the hub registered, as its `onRoute` hook recorded them (so a route added without an
 * OpenAPI entry is still listed), less the HEAD twin Fastify adds to each GET.
 */
export function routeInventory(hub: Pick<TestHub, 'app'>): RegisteredRoute[] {
  return hub.app.registeredRoutes.filter((r) => r.method !== 'HEAD');
}

/** `METHOD /url` keys, sorted, so exact-set comparisons print a readable difference. */
export function routeKeys(routes: readonly { method: string; url: string }[]): string[] {
  return routes.map((r) => `${r.method} ${r.url}`).sort();
}
