import type { ErrorBody, ErrorCode, SessionInfo } from './types.js';

/** An answer other than 2xx, with the hub's error code (program against `code`, never the message). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    /** A code of docs/errors.md (a newer hub may send one this build does not list). */
    readonly code: ErrorCode | 'NETWORK' | `HTTP_${number}`,
    message: string,
  ) {
    super(message);
  }
}

/** The header the hub checks on every signed-in change (packages/hub/src/api/session.ts). */
const CSRF_HEADER = 'x-vigil-csrf';

/**
 * The dashboard's only way to the hub. Credentials are the HttpOnly session cookie, which the page
 * cannot read; the CSRF token lives in this object's memory only (a reload fetches it again from
 * `GET /api/v1/session`), and no token of any kind is ever written to storage.
 */
export class Api {
  private csrf: string | null = null;

  constructor(
    /** Called when the hub says the session is gone (401), so the app shows the sign-in page. */
    private readonly onSignedOut: () => void = () => undefined,
    private readonly base = '',
  ) {}

  /** Whether a session exists (a 401 means not signed in, which is not an error here). */
  async resume(): Promise<boolean> {
    try {
      const info = await this.request<SessionInfo>('GET', '/api/v1/session', undefined, false);
      this.csrf = info.csrf_token;
      return true;
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return false;
      throw err;
    }
  }

  async signIn(token: string): Promise<void> {
    const info = await this.request<SessionInfo>('POST', '/api/v1/session', { token }, false);
    this.csrf = info.csrf_token;
  }

  async signOut(): Promise<void> {
    try {
      await this.request('DELETE', '/api/v1/session');
    } finally {
      this.csrf = null;
    }
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.request<T>('DELETE', path);
  }

  private async request<T>(method: string, path: string, body?: unknown, reportSignOut = true): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (method !== 'GET' && this.csrf) headers[CSRF_HEADER] = this.csrf;
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: 'same-origin',
        cache: 'no-store',
      });
    } catch {
      throw new ApiError(0, 'NETWORK', 'The hub cannot be reached');
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    if (!res.ok) {
      const e = (parsed as ErrorBody | undefined)?.error;
      if (res.status === 401 && reportSignOut) this.onSignedOut();
      throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? `The hub answered ${res.status}`);
    }
    return parsed as T;
  }
}
