import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { ErrorCode } from '@vigil/protocol';

/** A hub's answer: its status, its `{error: {code}}` when it sent one, `Retry-After` and `Date`. */
export interface HubReply {
  status: number;
  body: unknown;
  /** A code of docs/errors.md (a newer hub may send one this SDK does not list). */
  code: ErrorCode | undefined;
  retryAfter: string | undefined;
  date: string | undefined;
}

/** No answer: the connection failed, or no complete answer came within the request timeout. */
export class TransportError extends Error {
  constructor(
    readonly reason: 'timeout' | 'network',
    message: string,
    options?: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'TransportError';
  }
}

/** The hub's answers are a few hundred bytes; a longer one is not from a hub and is not read whole. */
const MAX_REPLY_BYTES = 1 << 20;

/**
 * POSTs JSON to the hub over one keep-alive connection. node:http rather than fetch because its
 * sockets can be unref()ed: a request hanging on a blackholed hub must not keep the host process
 * alive once its own work is done (close() keeps the process up itself while it flushes).
 */
export class Transport {
  private readonly agent: HttpAgent;
  private readonly request: typeof httpRequest;
  private readonly base: string;

  constructor(
    url: URL,
    private readonly key: string,
  ) {
    const https = url.protocol === 'https:';
    // One socket: the SDK sends one request at a time, so items reach the hub in order.
    this.agent = https ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
    this.request = https ? httpsRequest : httpRequest;
    this.base = url.href.replace(/\/+$/, '');
  }

  /** Resolves with any HTTP answer; rejects with a {@link TransportError} when there is none. */
  post(path: string, body: string, timeoutMs: number, signal: AbortSignal): Promise<HubReply> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (reason: 'timeout' | 'network', err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err instanceof TransportError ? err : new TransportError(reason, err.message, { cause: err }));
      };
      const req = this.request(this.base + path, {
        method: 'POST',
        agent: this.agent,
        signal,
        headers: {
          authorization: `Bearer ${this.key}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      });
      const timer = setTimeout(() => req.destroy(new TransportError('timeout', `no answer within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
      req.on('socket', (socket) => socket.unref());
      req.on('error', (err) => fail(err.name === 'AbortError' ? 'timeout' : 'network', err));
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size <= MAX_REPLY_BYTES) chunks.push(chunk);
        });
        res.on('error', (err) => fail('network', err));
        res.on('close', () => {
          if (!res.complete) fail('network', new Error('the connection closed before the answer was complete'));
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(reply(res, Buffer.concat(chunks).toString('utf8')));
        });
      });
      req.end(body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

function reply(res: IncomingMessage, text: string): HubReply {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  const error = typeof body === 'object' && body !== null ? (body as { error?: { code?: unknown } }).error : undefined;
  return {
    status: res.statusCode ?? 0,
    body,
    code: typeof error?.code === 'string' ? (error.code as ErrorCode) : undefined,
    retryAfter: res.headers['retry-after'],
    date: res.headers.date,
  };
}
