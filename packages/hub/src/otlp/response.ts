import { ERRORS, VigilError, type ErrorCode } from '../errors.js';
import type { Signal } from './decode.js';
import type { ExportOutcome } from './ingest.js';
import { ExportServiceResponse, RpcStatus } from './schema.js';

/** gRPC status codes (the numbers google.rpc.Status carries). */
export const GRPC = { OK: 0, INVALID_ARGUMENT: 3, PERMISSION_DENIED: 7, INTERNAL: 13, UNAVAILABLE: 14, UNAUTHENTICATED: 16 } as const;

/** The JSON name of each signal's rejected count in its partial-success message. */
const REJECTED_FIELD: Record<Signal, string> = { traces: 'rejectedSpans', metrics: 'rejectedDataPoints', logs: 'rejectedLogRecords' };

/** A successful export's answer: empty when all was kept, else `partial_success` with the count and why. */
export function successBody(signal: Signal, format: 'protobuf' | 'json', outcome: ExportOutcome): Buffer | string {
  const partial = outcome.rejected > 0 || outcome.message !== '';
  if (format === 'json') {
    return JSON.stringify(partial ? { partialSuccess: { [REJECTED_FIELD[signal]]: outcome.rejected, errorMessage: outcome.message } } : {});
  }
  const message = ExportServiceResponse.create(
    partial ? { partialSuccess: { rejected: outcome.rejected, errorMessage: outcome.message } } : {},
  );
  return Buffer.from(ExportServiceResponse.encode(message).finish());
}

export interface Failure {
  status: number;
  grpc: number;
  code: ErrorCode;
  message: string;
  retryAfter?: number;
}

/** Classifies an error (ours or Fastify's) as an OTLP failure: HTTP status, gRPC code, Vigil code. */
export function failureOf(err: unknown): Failure {
  if (err instanceof VigilError) {
    const base = { status: err.status, code: err.code, message: err.message, grpc: grpcCode(err.status) };
    return err.retryAfterS ? { ...base, retryAfter: err.retryAfterS } : base;
  }
  const status = Number((err as { statusCode?: unknown })?.statusCode ?? 500);
  const code: ErrorCode =
    status === 413
      ? 'VIGIL_BODY_TOO_LARGE'
      : status === 415
        ? 'VIGIL_UNSUPPORTED_MEDIA_TYPE'
        : status < 500
          ? 'VIGIL_VALIDATION'
          : 'VIGIL_INTERNAL';
  const mapped = code === 'VIGIL_VALIDATION' ? 400 : ERRORS[code].status;
  const message = code === 'VIGIL_VALIDATION' ? String((err as Error).message) : ERRORS[code].message;
  return { status: mapped, code, message, grpc: grpcCode(mapped) };
}

function grpcCode(status: number): number {
  if (status === 401) return GRPC.UNAUTHENTICATED;
  if (status === 403) return GRPC.PERMISSION_DENIED;
  if (status === 429 || status === 503) return GRPC.UNAVAILABLE;
  if (status >= 500) return GRPC.INTERNAL;
  return GRPC.INVALID_ARGUMENT;
}

/** A failure as google.rpc.Status: protobuf for protobuf requests; JSON that also carries Vigil's error shape. */
export function failureBody(format: 'protobuf' | 'json', f: Failure, requestId?: string): Buffer | string {
  if (format === 'json') {
    return JSON.stringify({
      code: f.grpc,
      message: f.message,
      details: [],
      error: { code: f.code, message: f.message, ...(f.status >= 500 && requestId ? { requestId } : {}) },
    });
  }
  return Buffer.from(RpcStatus.encode(RpcStatus.create({ code: f.grpc, message: f.message })).finish());
}
