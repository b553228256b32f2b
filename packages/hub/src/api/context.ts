import type { FastifyInstance, FastifyBaseLogger, RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Authenticator } from '../auth/authenticate.js';
import type { Principal } from '../auth/principal.js';
import type { Sessions } from '../auth/sessions.js';
import type { Clock } from '../clock.js';
import type { Writer } from '../ingest/writer.js';
import type { Bus } from '../live/bus.js';
import type { LiveFanout } from '../live/fanout.js';
import type { Db } from '../store/db.js';
import type { Retention } from '../store/retention.js';
import type { DashboardBuild } from '../web/assets.js';
import type { HubMetrics } from '../metrics/hub-metrics.js';

/** Who may call a route; every route must say (the route inventory test checks it). */
export type Access = 'public' | 'admin' | 'authenticated';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** The route reads Content-Encoding itself (OTLP accepts gzip); every other route refuses compressed bodies. */
    compressedBody?: boolean;
  }
  interface FastifyRequest {
    principal: Principal;
  }
  interface FastifyInstance {
    /** Every route as it was registered, HEAD twins of GET routes included (the route inventory tests read it). */
    registeredRoutes: readonly RegisteredRoute[];
  }
}

export interface RegisteredRoute {
  method: string;
  /** The pattern, prefix included (`/api/v1/agents/:agentId`). */
  url: string;
  access: Access | undefined;
}

/** What the alert routes need beyond the store and the writer. */
export interface AlertsDeps {
  /** Re-reads rules and silences and evaluates at once, so a change takes effect before the answer. */
  engine: { tick(): Promise<void> };
  /** `--webhook-allow-private`: loopback and private-network webhook targets are accepted. */
  allowPrivateWebhooks: boolean;
}

/** What the routes need from the rest of the hub, built by the composition root. */
export interface ApiDeps {
  db: Db;
  writer: Writer;
  bus: Bus;
  /** The live feed's sockets: caps, coalescing and backpressure. */
  live: LiveFanout;
  auth: Authenticator;
  /** The alert engine and the webhook target policy, for the alert routes. */
  alerts: AlertsDeps;
  /** Dashboard sign-in sessions (cookie auth for the browser). */
  sessions: Sessions;
  /** The built dashboard served at `/`, or why there is none. */
  dashboard: DashboardBuild;
  clock: Clock;
  /** How long each kind of data is kept: the storage report, and which table a range query reads. */
  retention: Retention;
  bodyLimitBytes: number;
  /** OTLP ingest limits (docs/otlp.md); defaults when absent. */
  otlp?: { bodyLimitBytes: number; maxSeriesPerAgent: number; busyWindowMs: number };
  startedAt: number;
  /** `GET /metrics` (Prometheus), and where refused requests are counted; absent in hubs built without it. */
  metrics?: { hub: HubMetrics; public: boolean };
  /** Set when SIGTERM arrives: new requests get 503 while the queue drains. */
  lifecycle: { shuttingDown: boolean };
  /** Which hub runs the background jobs (`/healthz`); absent: this hub alone, which runs them. */
  jobs?: JobsStatus;
}

/** This hub's id and who holds the job lock among several hubs (cluster/job-owner.ts). */
export interface JobsStatus {
  hubId: string;
  runsHere(): boolean;
  /** The id of the hub that runs the jobs; null when none does (a handover in progress) or it cannot be asked. */
  owner(): Promise<string | null>;
}

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

/** A route module: registers its routes on the app. */
export type Routes = (app: App, deps: ApiDeps) => void;
