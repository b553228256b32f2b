/**
 * The dashboard's addresses. The hub serves index.html for exactly these (packages/hub/src/web/routes.ts
 * keeps the same list), so a reload or a shared link lands on the right page.
 */
export type Route =
  | { page: 'overview' }
  | { page: 'agent'; agentId: string }
  | { page: 'errors' }
  | { page: 'events' }
  | { page: 'capacity' }
  | { page: 'storage' }
  | { page: 'alerts' }
  | { page: 'not-found' };

export function matchRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '') return { page: 'overview' };
  const agent = /^\/agents\/([^/]+)$/.exec(pathname);
  if (agent) {
    try {
      return { page: 'agent', agentId: decodeURIComponent(agent[1] as string) };
    } catch {
      return { page: 'not-found' };
    }
  }
  if (pathname === '/errors') return { page: 'errors' };
  if (pathname === '/events') return { page: 'events' };
  if (pathname === '/capacity') return { page: 'capacity' };
  if (pathname === '/storage') return { page: 'storage' };
  if (pathname === '/alerts') return { page: 'alerts' };
  return { page: 'not-found' };
}

/** The path of a route; agent ids are encoded, so no id can turn a link into another path or scheme. */
export function pathFor(route: Route): string {
  switch (route.page) {
    case 'overview':
      return '/';
    case 'agent':
      return `/agents/${encodeURIComponent(route.agentId)}`;
    case 'errors':
    case 'events':
    case 'capacity':
    case 'storage':
    case 'alerts':
      return `/${route.page}`;
    case 'not-found':
      return '/';
  }
}
