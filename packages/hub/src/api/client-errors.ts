import type { Socket } from 'node:net';
import { STATUS_CODES } from 'node:http';
import { ERRORS, type ErrorCode } from '../errors.js';

/**
 * Node refuses some requests before Fastify sees them: a request line or header that is not
 * HTTP/1.1, headers over the size limit, a request not received within `requestTimeout`. Node's
 * `clientError` event hands over the bare socket; this answers there with the hub's error shape
 * and closes, since after a parse error the rest of the stream cannot be trusted.
 */
export function answerClientError(err: NodeJS.ErrnoException & { reason?: string }, socket: Socket): void {
  // A reset or an already closed socket has nobody to answer.
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // Like Node's own handler: never write into a response that has started (that would corrupt it).
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const { code, message } = describe(err);
    const status = ERRORS[code].status;
    const body = JSON.stringify({ error: { code, message } });
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        'X-Content-Type-Options: nosniff\r\n' +
        'Connection: close\r\n\r\n' +
        body,
    );
  }
  socket.destroy();
}

function describe(err: NodeJS.ErrnoException & { reason?: string }): { code: ErrorCode; message: string } {
  if (err.code === 'HPE_HEADER_OVERFLOW') return { code: 'VIGIL_HEADERS_TOO_LARGE', message: ERRORS.VIGIL_HEADERS_TOO_LARGE.message };
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return { code: 'VIGIL_REQUEST_TIMEOUT', message: ERRORS.VIGIL_REQUEST_TIMEOUT.message };
  // llhttp's reason is a fixed phrase ("Invalid method encountered"), never the client's bytes.
  const detail = err.code?.startsWith('HPE_') ? ` (${err.code}${err.reason ? `: ${err.reason}` : ''})` : '';
  return { code: 'VIGIL_MALFORMED_REQUEST', message: `${ERRORS.VIGIL_MALFORMED_REQUEST.message}${detail}` };
}
