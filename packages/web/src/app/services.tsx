import { createContext, useContext, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import type { FiringAlerts } from '../alerts/firing.js';
import type { Api } from '../api/client.js';
import type { LiveMessage } from '../api/types.js';
import type { FleetStore } from '../fleet/store.js';
import type { ConnectionState, LiveFeed } from '../live/feed.js';

export interface Services {
  api: Api;
  feed: LiveFeed;
  fleet: FleetStore;
  firing: FiringAlerts;
}

export const ServicesContext = createContext<Services | null>(null);

export function useServices(): Services {
  const s = useContext(ServicesContext);
  if (!s) throw new Error('useServices outside the signed-in app');
  return s;
}

/** Re-renders when the fleet changes (at most once a frame); returns the store to read from. */
export function useFleet(): FleetStore {
  const { fleet } = useServices();
  useSyncExternalStore(fleet.subscribe, fleet.getVersion);
  return fleet;
}

/** Re-renders when the set of firing alerts changes; returns the store to read from. */
export function useFiring(): FiringAlerts {
  const { firing } = useServices();
  useSyncExternalStore(firing.subscribe, firing.getVersion);
  return firing;
}

export function useConnection(): ConnectionState {
  const { feed } = useServices();
  return useSyncExternalStore(
    (fn) => feed.onState(fn),
    () => feed.state,
  );
}

/** Calls `fn` for each live message while the component is shown (the latest `fn`, without resubscribing). */
export function useLive(fn: (m: LiveMessage) => void): void {
  const { feed } = useServices();
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => feed.onMessage((m) => latest.current(m)), [feed]);
}

/** Calls `fn` when the live feed comes back after a drop, so a page can refetch what it missed. */
export function useReconnect(fn: () => void): void {
  const { feed } = useServices();
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => feed.onReconnect(() => latest.current()), [feed]);
}

/** The current time, updated every `everyMs` (ages and "reconnecting in" counters). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}
