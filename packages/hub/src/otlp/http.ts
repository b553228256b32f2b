import { gunzip } from 'node:zlib';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ErrorBody } from '@vigil/protocol';
import type { Routes } from '../api/context.js';
import { VigilError } from '../errors.js';
import type { Signal } from './decode.js';
import { ingestExport } from './ingest.js';
import { failureBody, failureOf, successBody } from './response.js';

/** Default for `--otlp-body-limit`: the largest export accepted, measured after decompression. */
export const DEFAULT_OTLP_BODY_LIMIT = 16 * 1024 * 1024;
export const DEFAULT_OTLP_MAX_SERIES = 2000;

type Format = 'protobuf' | 'json';

/** `application/x-protobuf` or `application/json` (parameters ignored); anything else is 415. */
function formatOf(req: FastifyRequest): Format | undefined {
  const type = String(req.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim()
    .toLowerCase();
  if (type === 'application/x-protobuf' || type === 'application/protobuf') return 'protobuf';
  if (type === 'application/json') return 'json';
  return undefined;
}

const replyFormat = (req: FastifyRequest): Format => (formatOf(req) === 'protobuf' ? 'protobuf' : 'json');

function inflate(body: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    gunzip(body, { maxOutputLength: limit }, (err, out) => {
      if (!err) return resolve(out);
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError) {
        return reject(new VigilError('VIGIL_BODY_TOO_LARGE', `The decompressed body is larger than ${limit} bytes`));
      }
      reject(new VigilError('VIGIL_VALIDATION', 'The body is not valid gzip'));
    });
  });
}

/** Export<Signal>ServiceResponse: empty, or a partial success naming how many items were rejected and why. */
const OtlpSuccess = Type.Object(
  {
    partialSuccess: Type.Optional(
      Type.Object(
        {
          rejectedSpans: Type.Optional(Type.Integer()),
          rejectedDataPoints: Type.Optional(Type.Integer()),
          rejectedLogRecords: Type.Optional(Type.Integer()),
          errorMessage: Type.String(),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** google.rpc.Status, which OTLP clients read, carrying Vigil's own error shape beside it. */
const OtlpFailure = Type.Object(
  {
    code: Type.Integer({ description: 'gRPC status code' }),
    message: Type.String(),
    details: Type.Array(Type.Unknown()),
    error: ErrorBody.properties.error,
  },
  { additionalProperties: false },
);

/**
 * OTLP/HTTP on the API port: `POST /v1/traces`, `/v1/metrics`, `/v1/logs`, so an SDK pointed at
 * `OTEL_EXPORTER_OTLP_ENDPOINT=http://hub:7070` finds them. Authenticated like every other write
 * (the app's onRequest hook); answers and failures follow the OTLP specification (docs/otlp.md).
 */
export const otlpHttpRoutes: Routes = (app, deps) => {
  const settings = deps.otlp ?? { bodyLimitBytes: DEFAULT_OTLP_BODY_LIMIT, maxSeriesPerAgent: DEFAULT_OTLP_MAX_SERIES };
  void app.register(async (child) => {
    // This context reads the raw bytes: they may be protobuf, and may be gzip-compressed.
    child.removeAllContentTypeParsers();
    child.addContentTypeParser(
      ['application/x-protobuf', 'application/protobuf', 'application/json'],
      { parseAs: 'buffer' },
      (_req, body, done) => done(null, body),
    );
    const ingestDeps = { writer: deps.writer, db: deps.db, now: () => deps.clock.now(), maxSeriesPerAgent: settings.maxSeriesPerAgent };

    for (const signal of ['traces', 'metrics', 'logs'] as const satisfies readonly Signal[]) {
      child.post(
        `/v1/${signal}`,
        {
          config: { access: 'authenticated', compressedBody: true },
          bodyLimit: settings.bodyLimitBytes,
          schema: {
            summary: `OTLP/HTTP export of ${signal} (application/x-protobuf or application/json, gzip allowed)`,
            tags: ['otlp'],
            // Described in its JSON form; a protobuf request gets the same message in protobuf.
            response: { 200: OtlpSuccess, '4xx': OtlpFailure, '5xx': OtlpFailure },
          },
          errorHandler: (err: FastifyError | VigilError, req, reply) => sendFailure(req, reply, err),
        },
        async (req, reply) => {
          const format = formatOf(req);
          if (!format) throw new VigilError('VIGIL_UNSUPPORTED_MEDIA_TYPE', 'Send OTLP as application/x-protobuf or application/json');
          let body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
          const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
          if (encoding === 'gzip') body = await inflate(body, settings.bodyLimitBytes);
          else if (encoding !== 'identity')
            throw new VigilError('VIGIL_UNSUPPORTED_MEDIA_TYPE', 'Content-Encoding must be gzip or identity');
          const outcome = await ingestExport(ingestDeps, signal, format, body, req.principal);
          return reply
            .status(200)
            .header('content-type', format === 'protobuf' ? 'application/x-protobuf' : 'application/json')
            .send(successBody(signal, format, outcome));
        },
      );
    }
  });
};

function sendFailure(req: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const failure = failureOf(err);
  if (failure.status >= 500 && failure.code === 'VIGIL_INTERNAL') req.log.error({ err, reqId: req.id }, 'OTLP export failed');
  if (failure.retryAfter !== undefined) reply.header('retry-after', String(failure.retryAfter));
  const format = replyFormat(req);
  return reply
    .status(failure.status)
    .header('content-type', format === 'protobuf' ? 'application/x-protobuf' : 'application/json')
    .send(failureBody(format, failure, req.id));
}
