import { ERRORS, type ErrorCode } from '@vigil/protocol';

// The table lives in the wire contract (@vigil/protocol), which clients read too.
export { ERRORS, type ErrorCode };
/** The one error type the API raises; the error handler turns it into `{error: {code, message}}`. */
export class VigilError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly retryAfterS?: number,
  ) {
    super(message ?? ERRORS[code].message);
    this.status = ERRORS[code].status;
  }
}
