import { useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from 'react';
import { matchRoute, pathFor, type Route } from './routes.js';

const NAVIGATE = 'vigil:navigate';

export function navigate(route: Route): void {
  const path = pathFor(route);
  if (path !== location.pathname) history.pushState(null, '', path);
  window.dispatchEvent(new Event(NAVIGATE));
}

/** The current route, following links, back and forward. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => matchRoute(location.pathname));
  useEffect(() => {
    const update = () => {
      setRoute(matchRoute(location.pathname));
      window.scrollTo(0, 0);
    };
    window.addEventListener('popstate', update);
    window.addEventListener(NAVIGATE, update);
    return () => {
      window.removeEventListener('popstate', update);
      window.removeEventListener(NAVIGATE, update);
    };
  }, []);
  return route;
}

/** A real link (middle-click, copy address and keyboard all work) that navigates in-page on a plain click. */
export function Link({ to, ...rest }: { to: Route } & Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'>) {
  const onClick = (e: MouseEvent<HTMLAnchorElement>) => {
    rest.onClick?.(e);
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(to);
  };
  return <a {...rest} href={pathFor(to)} onClick={onClick} />;
}
