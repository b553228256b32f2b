export type Theme = 'light' | 'dark';

/** Only the viewer's theme choice is stored in the browser; nothing about the session ever is. */
const KEY = 'vigil.theme';

function stored(): Theme | undefined {
  const v = safeStorage()?.getItem(KEY);
  return v === 'light' || v === 'dark' ? v : undefined;
}

/** The theme shown: the viewer's choice, else the system's (which the CSS follows by itself). */
export function currentTheme(): Theme {
  return stored() ?? (matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light');
}

/** At start: a stored choice overrides the system theme; without one, the page follows the system as it changes. */
export function applyStoredTheme(): void {
  const theme = stored();
  if (theme) document.documentElement.dataset.theme = theme;
}

/** The toggle: shows `theme` and remembers it. */
export function chooseTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  safeStorage()?.setItem(KEY, theme);
}

function safeStorage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}
