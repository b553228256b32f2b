/**
 * How figures and times read on the dashboard. Every function takes the value as stored (null when
 * never measured) and shows a missing value as an em dash, never as 0 (no value is not 0).
 */

export const NONE = '—';

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });

const isNumber = (v: number | null | undefined): v is number => typeof v === 'number' && Number.isFinite(v);

/** `12.5%`; one decimal below 100 so small loads stay visible, none above (a 16-core process can show 1,450%). */
export function formatPercent(v: number | null | undefined): string {
  if (!isNumber(v)) return NONE;
  return `${v < 100 ? oneDecimal.format(v) : integer.format(v)}%`;
}

/** Memory in MB as the monitoring dashboard's table shows it (docs/seed-requirements.md), with thousands grouped: `1,536 MB`. */
export function formatMb(v: number | null | undefined): string {
  return isNumber(v) ? `${integer.format(v)} MB` : NONE;
}

/** Gigabytes with one decimal: `23.5 GB`. */
export function formatGb(v: number | null | undefined): string {
  return isNumber(v) ? `${oneDecimal.format(v)} GB` : NONE;
}

export function formatCount(v: number | null | undefined): string {
  return isNumber(v) ? integer.format(v) : NONE;
}

const upToOneDecimal = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });

/** A figure that may be fractional (cores, load): `1.5`, `12`. */
export function formatNumber(v: number | null | undefined): string {
  return isNumber(v) ? upToOneDecimal.format(v) : NONE;
}

const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** Bytes in the largest unit under 1024, with `suffix` after the unit: `3.2 MB`, `3.2 MB/s`. */
function binary(bytes: number, suffix: string): string {
  let v = bytes;
  let unit = 0;
  while (v >= 1024 && unit < BYTE_UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  return `${unit === 0 ? integer.format(v) : oneDecimal.format(v)} ${BYTE_UNITS[unit]}${suffix}`;
}

/** A byte rate: `3.2 MB/s`. */
export function formatRate(bytesPerSecond: number | null | undefined): string {
  return isNumber(bytesPerSecond) ? binary(bytesPerSecond, '/s') : NONE;
}

/** A size on disk: `1.4 GB`. */
export function formatBytes(bytes: number | null | undefined): string {
  return isNumber(bytes) ? binary(bytes, '') : NONE;
}

/** How long ago, coarsest unit first: `now`, `42 s`, `5 min`, `3 h`, `2 d`. Future times (clock skew) read as now. */
export function formatAge(at: number | null | undefined, now: number): string {
  if (!isNumber(at)) return NONE;
  const s = Math.floor((now - at) / 1000);
  if (s < 1) return 'now';
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

/** `42 s ago`, or `now`. */
export function formatAgo(at: number | null | undefined, now: number): string {
  const age = formatAge(at, now);
  return age === NONE || age === 'now' ? age : `${age} ago`;
}

const timeFormats = new Map<string, Intl.DateTimeFormat>();

/**
 * A timestamp in the viewer's time zone (or `timeZone`, for tests): the time alone when it is today
 * there, the date and time otherwise.
 */
export function formatTime(at: number | null | undefined, now: number, opts: { timeZone?: string; locale?: string } = {}): string {
  if (!isNumber(at)) return NONE;
  const sameDay = dayKey(at, opts) === dayKey(now, opts);
  return format(sameDay ? 'time' : 'datetime', opts).format(at);
}

/** The full date and time, for tooltips and titles. */
export function formatDateTime(at: number | null | undefined, opts: { timeZone?: string; locale?: string } = {}): string {
  return isNumber(at) ? format('full', opts).format(at) : NONE;
}

/** The viewer's time zone name, shown once so every time on the page has a stated zone. */
export function viewerTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone;
}

function dayKey(at: number, opts: { timeZone?: string; locale?: string }): string {
  return format('day', opts).format(at);
}

function format(kind: 'time' | 'datetime' | 'full' | 'day', opts: { timeZone?: string; locale?: string }): Intl.DateTimeFormat {
  const key = `${kind}|${opts.timeZone ?? ''}|${opts.locale ?? ''}`;
  let f = timeFormats.get(key);
  if (!f) {
    const base = opts.timeZone ? { timeZone: opts.timeZone } : {};
    const options: Intl.DateTimeFormatOptions =
      kind === 'time'
        ? { ...base, hour: '2-digit', minute: '2-digit', second: '2-digit' }
        : kind === 'datetime'
          ? { ...base, month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' }
          : kind === 'full'
            ? { ...base, dateStyle: 'medium', timeStyle: 'long' }
            : { ...base, year: 'numeric', month: '2-digit', day: '2-digit' };
    f = new Intl.DateTimeFormat(opts.locale, options);
    timeFormats.set(key, f);
  }
  return f;
}

/** Any JSON value as one line of text (metadata values); long values are cut with an ellipsis. */
export function formatValue(v: unknown, max = 200): string {
  const text = typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
