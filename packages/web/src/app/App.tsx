import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { FiringAlerts } from '../alerts/firing.js';
import { Api } from '../api/client.js';
import { CapacityPage } from '../capacity/CapacityPage.js';
import { ErrorsPage } from '../errors/ErrorsPage.js';
import { EventsPage } from '../events/EventsPage.js';
import { FleetStore } from '../fleet/store.js';
import { LiveFeed } from '../live/feed.js';
import { Overview } from '../overview/Overview.js';
import { SignIn } from '../session/SignIn.js';
import { StoragePage } from '../storage/StoragePage.js';
import { ConnectionBadge } from '../ui/ConnectionBadge.js';
import { viewerTimeZone } from '../ui/format.js';
import { ErrorState, Loading } from '../ui/states.js';
import { ThemeToggle } from '../ui/ThemeToggle.js';
import { Link, useRoute } from './navigation.js';
import { ServicesContext, useFiring, type Services } from './services.js';

// The agent page carries uPlot; it loads when first opened, so the overview's first load stays small.
const AgentPage = lazy(() => import('../agent/AgentPage.js').then((m) => ({ default: m.AgentPage })));
const AlertsPage = lazy(() => import('../alerts/AlertsPage.js').then((m) => ({ default: m.AlertsPage })));

type SessionState =
  { kind: 'checking' } | { kind: 'signed-out'; ended: boolean } | { kind: 'signed-in' } | { kind: 'failed'; message: string };

export function App() {
  const [session, setSession] = useState<SessionState>({ kind: 'checking' });
  const signedOut = useCallback(() => setSession({ kind: 'signed-out', ended: true }), []);
  const api = useMemo(() => new Api(signedOut), [signedOut]);

  const check = useCallback(() => {
    setSession({ kind: 'checking' });
    api.resume().then(
      (ok) => setSession(ok ? { kind: 'signed-in' } : { kind: 'signed-out', ended: false }),
      (err: unknown) => setSession({ kind: 'failed', message: err instanceof Error ? err.message : String(err) }),
    );
  }, [api]);
  useEffect(check, [check]);

  switch (session.kind) {
    case 'checking':
      return <Loading label="Connecting to the hub…" fullPage />;
    case 'failed':
      return <ErrorState title="The hub did not answer" message={session.message} onRetry={check} fullPage />;
    case 'signed-out':
      return <SignIn api={api} ended={session.ended} onSignedIn={() => setSession({ kind: 'signed-in' })} />;
    case 'signed-in':
      return <Dashboard api={api} onSignedOut={signedOut} />;
  }
}

function Dashboard({ api, onSignedOut }: { api: Api; onSignedOut: () => void }) {
  const services = useMemo<Services>(() => {
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const feed = new LiveFeed({
      url: `${scheme}//${location.host}/api/v1/live`,
      open: (url) => new WebSocket(url),
      stillSignedIn: () => api.resume(),
      setTimer: (fn, ms) => setTimeout(fn, ms),
      clearTimer: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
      now: () => Date.now(),
    });
    return { api, feed, fleet: new FleetStore(api, feed), firing: new FiringAlerts(api, feed) };
  }, [api]);

  useEffect(() => {
    const off = services.feed.onState((s) => {
      if (s.kind === 'signed-out') onSignedOut();
    });
    services.feed.start();
    services.fleet.start();
    services.firing.start();
    return () => {
      off();
      services.fleet.stop();
      services.firing.stop();
      services.feed.stop();
    };
  }, [services, onSignedOut]);

  const signOut = async () => {
    services.feed.stop();
    await api.signOut().catch(() => undefined);
    onSignedOut();
  };

  return (
    <ServicesContext.Provider value={services}>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to={{ page: 'overview' }} className="brand" aria-label="Vigil overview">
          <span className="brand-mark" aria-hidden="true" />
          Vigil
        </Link>
        <Nav />
        <div className="topbar-end">
          <ConnectionBadge />
          <ThemeToggle />
          <button type="button" className="button ghost" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Page />
      </main>
      <footer className="footer">Times are shown in {viewerTimeZone()}.</footer>
    </ServicesContext.Provider>
  );
}

function Nav() {
  const route = useRoute();
  const items = [
    { to: { page: 'overview' as const }, label: 'Overview', active: route.page === 'overview' || route.page === 'agent' },
    { to: { page: 'errors' as const }, label: 'Errors', active: route.page === 'errors' },
    { to: { page: 'events' as const }, label: 'Events', active: route.page === 'events' },
    { to: { page: 'capacity' as const }, label: 'Capacity', active: route.page === 'capacity' },
    { to: { page: 'storage' as const }, label: 'Storage', active: route.page === 'storage' },
    { to: { page: 'alerts' as const }, label: 'Alerts', active: route.page === 'alerts', badge: <FiringBadge /> },
  ];
  return (
    <nav aria-label="Main" className="nav">
      {items.map((i) => (
        <Link key={i.label} to={i.to} className={i.active ? 'nav-link active' : 'nav-link'} aria-current={i.active ? 'page' : undefined}>
          {i.label}
          {'badge' in i && i.badge}
        </Link>
      ))}
    </nav>
  );
}

/** How many alerts fire now, beside "Alerts" in the header; nothing when none. */
function FiringBadge() {
  const firing = useFiring();
  if (firing.count === 0) return null;
  return (
    <span className="nav-badge" data-testid="firing-badge" aria-label={`${firing.count} firing`}>
      {firing.count}
    </span>
  );
}

function Page() {
  const route = useRoute();
  useEffect(() => {
    document.title = route.page === 'agent' ? `${route.agentId} · Vigil` : `${TITLES[route.page]} · Vigil`;
  }, [route]);
  switch (route.page) {
    case 'overview':
      return <Overview />;
    case 'agent':
      return (
        <Suspense fallback={<Loading label="Loading the agent page…" />}>
          <AgentPage key={route.agentId} agentId={route.agentId} />
        </Suspense>
      );
    case 'errors':
      return <ErrorsPage />;
    case 'events':
      return <EventsPage />;
    case 'capacity':
      return <CapacityPage />;
    case 'storage':
      return <StoragePage />;
    case 'alerts':
      return (
        <Suspense fallback={<Loading label="Loading the alerts page…" />}>
          <AlertsPage />
        </Suspense>
      );
    case 'not-found':
      return <ErrorState title="No such page" message="This address is not a page of the dashboard." />;
  }
}

const TITLES = {
  overview: 'Fleet',
  errors: 'Errors',
  events: 'Events',
  capacity: 'Capacity',
  storage: 'Storage',
  alerts: 'Alerts',
  'not-found': 'Not found',
} as const;
