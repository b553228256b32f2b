import type { HubReply } from './transport.js';

/** What went wrong, by kind; `message` says it for a person. */
export type ClientErrorCode =
  /** No answer from the hub: refused, reset, DNS, or no answer within the request timeout. */
  | 'unreachable'
  /** The hub answered 408, 429 or 5xx. */
  | 'hub_unavailable'
  /** The hub refused the key (401, 403, 409); nothing is sent but one probe a minute until fixed. */
  | 'rejected_credentials'
  /** The URL does not lead to a Vigil hub (404 for the route, a redirect, a proxy). */
  | 'bad_endpoint'
  /** The hub refused the registration or some reports as invalid; those reports are dropped. */
  | 'invalid_items'
  /** The `collect` function threw or timed out; the heartbeat went without resources. */
  | 'collect_failed'
  /** A bug in the client itself; it was contained. */
  | 'internal';

/** A problem the client met and handled; given to {@link VigilClientOptions.onError}, never thrown. */
export class VigilClientError extends Error {
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    /** True when the client expects it to clear up by itself (it keeps retrying). */
    readonly transient: boolean,
    /** The hub's HTTP status and `VIGIL_*` error code, when the hub answered. */
    readonly hub?: { status: number; code: string | undefined },
    options?: { cause: unknown },
  ) {
    super(message, options);
    this.name = 'VigilClientError';
  }
}

/** How the SDK's parts report a problem; the client turns it into a {@link VigilClientError} for `onError`. */
export type Report = (code: ClientErrorCode, message: string, transient: boolean, reply?: HubReply, cause?: unknown) => void;

/** Without an `onError`, what needs a person is printed; transient trouble shows only in `stats()`. */
export const defaultOnError = (err: VigilClientError): void => {
  if (!err.transient) console.warn(`[vigil] ${err.message}`);
};
