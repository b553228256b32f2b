import * as grpc from '@grpc/grpc-js';
import type { Authenticator } from '../auth/authenticate.js';
import { VigilError } from '../errors.js';
import type { Signal } from './decode.js';
import { ingestExport, type OtlpIngestDeps } from './ingest.js';
import { failureOf, successBody } from './response.js';

/** The three OTLP collector services and their one method, by their protobuf names. */
const SERVICES: Record<Signal, string> = {
  traces: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
  metrics: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
  logs: '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
};

export interface OtlpGrpcOptions {
  host: string;
  port: number;
  /** Largest message, after decompression (grpc-js checks a compressed message's inflated size too). */
  maxMessageBytes: number;
  auth: Authenticator;
  ingest: OtlpIngestDeps;
  /** True while the hub shuts down: new exports are refused with UNAVAILABLE. */
  shuttingDown: () => boolean;
  onError: (err: unknown) => void;
}

const identity = (b: Buffer): Buffer => b;

/**
 * OTLP/gRPC: the collector services' `Export`, decoded by the same decoder as OTLP/HTTP (messages
 * arrive as raw bytes), with the same limits and the `authorization` metadata key. Failures carry
 * the gRPC codes the OTLP specification names: INVALID_ARGUMENT, UNAUTHENTICATED,
 * PERMISSION_DENIED, UNAVAILABLE (queue full, store away, shutting down).
 */
export class OtlpGrpcServer {
  private readonly server: grpc.Server;
  private port = 0;

  constructor(private readonly options: OtlpGrpcOptions) {
    this.server = new grpc.Server({
      'grpc.max_receive_message_length': options.maxMessageBytes,
      'grpc.max_send_message_length': 1024 * 1024,
    });
    for (const signal of Object.keys(SERVICES) as Signal[]) {
      const definition: grpc.ServiceDefinition = {
        Export: {
          path: SERVICES[signal],
          requestStream: false,
          responseStream: false,
          requestSerialize: identity,
          requestDeserialize: identity,
          responseSerialize: identity,
          responseDeserialize: identity,
        },
      };
      this.server.addService(definition, { Export: this.handler(signal) });
    }
  }

  private handler(signal: Signal): grpc.handleUnaryCall<Buffer, Buffer> {
    return (call, callback) => {
      void this.export(signal, call.request, call.metadata, peerAddress(call.getPeer())).then(
        (body) => callback(null, body),
        (err: unknown) => {
          const f = failureOf(err);
          if (f.code === 'VIGIL_INTERNAL') this.options.onError(err);
          const metadata = new grpc.Metadata();
          if (f.retryAfter !== undefined) metadata.set('retry-after', String(f.retryAfter));
          callback({ code: f.grpc, details: f.message, metadata });
        },
      );
    };
  }

  private async export(signal: Signal, body: Buffer, metadata: grpc.Metadata, address: string): Promise<Buffer> {
    if (this.options.shuttingDown()) throw new VigilError('VIGIL_SHUTTING_DOWN', undefined, 2);
    const header = metadata.get('authorization')[0];
    // No credentials are refused without counting against the address, as on the HTTP port.
    if (typeof header !== 'string') throw new VigilError('VIGIL_UNAUTHORIZED');
    const principal = await this.options.auth.authenticate(header, address);
    if (!principal) throw new VigilError('VIGIL_UNAUTHORIZED');
    // Never held here: the message is in memory already (decompressed), so a flood would hold its
    // bodies; a call over its key's rate is refused at once (UNAVAILABLE with retry-after).
    await this.options.auth.admit(principal, body.length, 0);
    const outcome = await ingestExport(this.options.ingest, signal, 'protobuf', body, principal);
    return successBody(signal, 'protobuf', outcome) as Buffer;
  }

  /** Listens; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      const host = this.options.host.includes(':') ? `[${this.options.host}]` : this.options.host;
      this.server.bindAsync(`${host}:${this.options.port}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
        if (err) return reject(err);
        this.port = port;
        resolve(port);
      });
    });
  }

  get boundPort(): number {
    return this.port;
  }

  /** Stops taking calls and waits for those in flight (they reach the writer and are answered). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.server.forceShutdown(), 10_000);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

/**
 * The client's address from grpc-js's peer string (`ipv4:127.0.0.1:5000`, `ipv6:[::1]:5000`), as
 * the failed-credential throttle counts them on the HTTP port.
 */
export function peerAddress(peer: string): string {
  const rest = peer.replace(/^ipv[46]:/, '');
  const bracketed = /^\[([^\]]+)\]/.exec(rest);
  if (bracketed) return bracketed[1] as string;
  const colon = rest.lastIndexOf(':');
  return colon > 0 ? rest.slice(0, colon) : rest;
}
