import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_TOKEN_FILE } from '../auth/secrets.js';
import type { Settings } from '../config/config.js';
import { EXIT, UsageError } from './command.js';

/** The hub answered with an error: its `{error:{code,message}}`, printed as is (exit 1). */
export class HubError extends Error {
  readonly exitCode = EXIT.failed;
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(`${code}: ${detail} (${status})`);
  }
}

/** No answer at all: refused, unresolvable, reset or timed out (exit 3, so a script can tell "down" from "said no"). */
export class HubUnreachable extends Error {
  readonly exitCode = EXIT.unreachable;
}

/** Long enough for a loaded hub's biggest page; short enough that a script does not hang on a dead address. */
const REQUEST_TIMEOUT_MS = 15_000;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export type Query = Record<string, string | number | boolean | undefined>;

/** The hub's HTTP API as the terminal commands need it: a bearer key, JSON both ways. */
export class HubClient {
  private constructor(
    readonly url: string,
    private readonly key: string,
  ) {}

  /**
   * The key is --key / VIGIL_KEY, else (for a hub on this machine) the admin token `vigil server`
   * generated into the data directory, so on the hub's own machine `vigil agents` works with no setup.
   */
  static connect(config: Settings<'url' | 'key' | 'dataDir'>): HubClient {
    if (config.key !== undefined) return new HubClient(config.url, config.key);
    // The admin token opens everything: it goes only to a hub on this machine, as `vigil run` does.
    if (!LOOPBACK.has(new URL(config.url).hostname)) {
      throw new UsageError(`no key: set VIGIL_KEY or pass --key (the local admin token is sent only to a hub on this machine)`);
    }
    const file = join(config.dataDir, ADMIN_TOKEN_FILE);
    let token: string;
    try {
      token = readFileSync(file, 'utf8').trim();
    } catch (err) {
      const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'there is no' : 'cannot read the';
      throw new UsageError(`no key: set VIGIL_KEY or pass --key (${why} admin token file ${file}; --data-dir says where it is)`);
    }
    if (token === '') throw new UsageError(`no key: the admin token file ${file} is empty; set VIGIL_KEY or pass --key`);
    return new HubClient(config.url, token);
  }

  get<T>(path: string, query: Query = {}): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  /** One request; `body` is sent as JSON. Resolves with the parsed answer of a 2xx, else throws HubError or HubUnreachable. */
  async request<T>(method: 'GET' | 'POST' | 'PATCH' | 'DELETE', path: string, opts: { query?: Query; body?: unknown } = {}): Promise<T> {
    const url = new URL(this.url + path);
    for (const [name, value] of Object.entries(opts.query ?? {})) if (value !== undefined) url.searchParams.set(name, String(value));
    const headers: Record<string, string> = { authorization: `Bearer ${this.key}`, accept: 'application/json' };
    if (opts.body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await res.text();
    } catch (err) {
      throw new HubUnreachable(`cannot reach the hub at ${this.url}: ${reason(err)}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      // Not the hub, or a proxy's error page: say what came back rather than a JSON parse error.
      throw new HubError(res.status, `HTTP ${res.status}`, `${this.url} answered ${res.status} with something other than JSON`);
    }
    if (!res.ok) {
      const error = (body as { error?: { code?: unknown; message?: unknown } }).error;
      throw new HubError(res.status, String(error?.code ?? `HTTP ${res.status}`), String(error?.message ?? text.slice(0, 200)));
    }
    return body as T;
  }
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND, a timeout) is in its cause. */
function reason(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer in ${REQUEST_TIMEOUT_MS / 1000} s`;
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
