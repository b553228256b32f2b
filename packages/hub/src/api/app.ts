import { pipeline, Transform } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyReply } from 'fastify';
import type { Logger } from 'pino';
import swagger from '@fastify/swagger';
import websocket from '@fastify/websocket';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Principal } from '../auth/principal.js';
import { ERRORS, VigilError, type ErrorCode } from '../errors.js';
import { StoreCorruptError } from '../store/sqlite-file.js';
import type { ApiDeps, App, RegisteredRoute, Routes } from './context.js';
import { answerClientError } from './client-errors.js';
import { checkJson } from './json-guard.js';
import { describeValidation } from '../validation-message.js';
import { validatorCompiler } from './validation.js';
import { serializerCompiler } from './responses.js';
import { agentRoutes } from './agents.js';
import { recordRoutes } from './records.js';
import { ingestRoutes } from './ingest.js';
import { capacityRoutes } from './capacity.js';
import { claimRoutes } from './claims.js';
import { monitoringRoutes } from './monitoring.js';
import { keyRoutes } from './keys.js';
import { healthRoutes } from './health.js';
import { traceRoutes } from './traces.js';
import { systemRoutes } from './system.js';
import { liveRoutes, MAX_INBOUND_BYTES } from './live.js';
import { metricsRoutes } from './metrics.js';
import { storageRoutes } from './storage.js';
import { alertRoutes } from './alerts.js';
import { sessionPrincipal, sessionRoutes } from './session.js';
import { addSecurityHeaders } from './security-headers.js';
import { dashboardRoutes } from '../web/routes.js';
import { otlpHttpRoutes } from '../otlp/http.js';
import { llmUsageRoutes } from './llm-usage.js';
import { prometheusRoutes } from './prometheus.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route as `METHOD /url`, recorded as it is added (Fastify's HEAD twins of GET routes left out). */
    routeInventory: readonly string[];
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

const ROUTES: Routes[] = [
  healthRoutes,
  agentRoutes,
  recordRoutes,
  ingestRoutes,
  traceRoutes,
  capacityRoutes,
  claimRoutes,
  monitoringRoutes,
  keyRoutes,
  systemRoutes,
  metricsRoutes,
  storageRoutes,
  liveRoutes,
  alertRoutes,
  sessionRoutes,
  otlpHttpRoutes,
  llmUsageRoutes,
  prometheusRoutes,
  dashboardRoutes,
];

/**
 * Builds the hub's HTTP app without listening, so tests can `inject()` or listen on port 0.
 * Every error leaves as `{error: {code, message}}`; no client input produces a 500.
 */
export async function buildApp(deps: ApiDeps, logger?: Logger): Promise<App> {
  const app = Fastify({
    ...(logger ? { loggerInstance: logger as FastifyBaseLogger } : { logger: false }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: deps.bodyLimitBytes,
    // Slow or stuck clients cannot hold a connection forever (slowloris).
    requestTimeout: 30_000,
    connectionTimeout: 60_000,
    // Our own onRequest hook answers 503 with the error shape and Retry-After during shutdown.
    return503OnClosing: false,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    routerOptions: { maxParamLength: 200 },
    // Node-level refusals (not HTTP, headers too large, too slow) keep the error shape too.
    clientErrorHandler: answerClientError,
    // Router-level refusals (malformed URL encoding, over-long path parameters) keep the error shape.
    frameworkErrors: (err, _req, reply) => {
      void (reply as unknown as FastifyReply).status(400).send({ error: { code: 'VIGIL_VALIDATION', message: err.message } });
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('principal', undefined as never);

  const registered: RegisteredRoute[] = [];
  app.decorate('registeredRoutes', registered);
  const inventory: string[] = [];
  app.decorate('routeInventory', inventory);
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    if (access === undefined && !String(route.url).startsWith('/documentation')) {
      throw new Error(`route ${route.method} ${route.url} does not declare its access`);
    }
    for (const method of [route.method].flat()) registered.push({ method, url: route.url, access });
    for (const method of [route.method].flat()) if (method !== 'HEAD') inventory.push(`${method} ${route.url}`);
  });

  // JSON only, parsed here once and checked for what storage cannot hold.
  app.removeAllContentTypeParsers();
  // Bytes, decoded strictly: invalid UTF-8 is refused rather than stored as U+FFFD.
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    // No body at all (many clients send the content type anyway): a route that takes a body still
    // refuses it as missing, and one that takes none (resolve, delete) goes ahead.
    if ((body as Buffer).length === 0) return done(null, undefined);
    let text: string;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      return done(new VigilError('VIGIL_BAD_TEXT', 'The body is not valid UTF-8'), undefined);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return done(new VigilError('VIGIL_MALFORMED_JSON'), undefined);
    }
    const problem = checkJson(value);
    return problem ? done(problem, undefined) : done(null, value);
  });

  // Query strings and path parameters bypass the body parser, so they get the same text check here.
  app.addHook('preValidation', (req, _reply, done) => {
    done(checkJson(req.query) ?? checkJson(req.params));
  });

  app.addHook('onRequest', async (req, reply) => {
    if (deps.lifecycle.shuttingDown) {
      reply.header('connection', 'close');
      throw new VigilError('VIGIL_SHUTTING_DOWN', undefined, 2);
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding !== 'identity' && req.routeOptions.config.compressedBody !== true) {
      throw new VigilError('VIGIL_UNSUPPORTED_MEDIA_TYPE', 'Compressed request bodies are not accepted');
    }
    const access = req.routeOptions.config.access;
    if (access === 'public' || access === undefined) return;
    // An Authorization header decides alone; without one, the dashboard's session cookie may stand in.
    const principal =
      req.headers.authorization !== undefined
        ? await deps.auth.authenticate(req.headers.authorization, req.ip)
        : await sessionPrincipal(req, deps.sessions);
    if (!principal) throw new VigilError('VIGIL_UNAUTHORIZED');
    if (access === 'admin' && principal.kind !== 'admin') throw new VigilError('VIGIL_FORBIDDEN');
    req.principal = principal;
    if (!deps.auth.limits(principal)) return;
    // Per key, before the body is read: a key over its rates costs no parsing (docs/configuration.md).
    // A declared length over the route's limit is charged nothing: the body is refused (413) unread.
    const declared = Number(req.headers['content-length']);
    const limit = req.routeOptions.bodyLimit ?? deps.bodyLimitBytes;
    await deps.auth.admit(principal, Number.isFinite(declared) && declared <= limit ? declared : 0);
    // Held for its turn while the hub began to stop: answered as every request after SIGTERM is.
    if (deps.lifecycle.shuttingDown) {
      reply.header('connection', 'close');
      throw new VigilError('VIGIL_SHUTTING_DOWN', undefined, 2);
    }
  });

  // A body sent without Content-Length (chunked) is charged to its key's byte rate as it arrives.
  app.addHook('preParsing', async (req, _reply, payload) => {
    const p = req.principal as Principal | undefined;
    if (req.headers['transfer-encoding'] === undefined || p === undefined || !deps.auth.limits(p)) return payload;
    const counted = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        deps.auth.charge(p, chunk.length);
        done(null, chunk);
      },
    });
    // pipeline, not pipe: a client that aborts ends the counted stream with the error, and the parser answers.
    pipeline(payload, counted, () => undefined);
    return counted;
  });

  // A refused WebSocket handshake leaves a raw socket that the HTTP server no longer tracks; left
  // open, one client could hold shutdown hostage. Close it once the refusal is sent.
  app.addHook('onResponse', (req, reply, done) => {
    if (req.headers.upgrade !== undefined && reply.statusCode !== 101) req.raw.socket.destroy();
    done();
  });

  addSecurityHeaders(app);

  app.setErrorHandler((err: FastifyError | VigilError, req, reply) => {
    const { status, code, message, retryAfter } = classify(err, deps.db);
    if (code === 'VIGIL_INTERNAL' || code === 'VIGIL_STORE_CORRUPT') req.log.error({ err, reqId: req.id }, 'request failed');
    if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
    deps.metrics?.hub.refused(code);
    const body: { error: { code: ErrorCode; message: string; requestId?: string } } = { error: { code, message } };
    if (status >= 500) body.error.requestId = req.id;
    return reply.status(status).send(body);
  });

  app.setNotFoundHandler((req, reply) => {
    deps.metrics?.hub.refused('VIGIL_ROUTE_NOT_FOUND');
    return reply.status(404).send({ error: { code: 'VIGIL_ROUTE_NOT_FOUND', message: `No route ${req.method} ${req.url.split('?')[0]}` } });
  });

  await app.register(swagger, {
    openapi: {
      info: { title: 'Vigil hub API', version: '1' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(websocket, {
    options: { maxPayload: MAX_INBOUND_BYTES },
    // Live clients learn that the hub is going away (1001) and reconnect, rather than seeing a bare close.
    preClose: async () => {
      for (const client of app.websocketServer.clients) client.close(1001, 'hub stopping');
    },
  });
  for (const routes of ROUTES) routes(app, deps);
  app.get('/api/v1/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());
  return app;
}

function classify(
  err: FastifyError | VigilError,
  db: ApiDeps['db'],
): { status: number; code: ErrorCode; message: string; retryAfter?: number } {
  if (err instanceof VigilError) {
    return { status: err.status, code: err.code, message: err.message, ...(err.retryAfterS ? { retryAfter: err.retryAfterS } : {}) };
  }
  if (err instanceof StoreCorruptError) return { status: 500, code: 'VIGIL_STORE_CORRUPT', message: ERRORS.VIGIL_STORE_CORRUPT.message };
  if (err.validation) {
    return { status: 400, code: 'VIGIL_VALIDATION', message: describeValidation(err.validation, err.validationContext) };
  }
  const status = err.statusCode ?? 500;
  if (status === 413) return { status, code: 'VIGIL_BODY_TOO_LARGE', message: ERRORS.VIGIL_BODY_TOO_LARGE.message };
  if (status === 415) return { status, code: 'VIGIL_UNSUPPORTED_MEDIA_TYPE', message: ERRORS.VIGIL_UNSUPPORTED_MEDIA_TYPE.message };
  if (status === 503) return { status, code: 'VIGIL_SHUTTING_DOWN', message: ERRORS.VIGIL_SHUTTING_DOWN.message, retryAfter: 2 };
  // Fastify's own 4xx (empty JSON body, bad URL, poisoned prototype): its message names the problem.
  if (status >= 400 && status < 500) return { status: 400, code: 'VIGIL_VALIDATION', message: err.message };
  // A read that failed because the database is away (connection lost, refused, timed out) is the
  // store's outage, not the hub's bug: 503 + Retry-After, as a write gets.
  if (db.isUnavailable(err))
    return { status: 503, code: 'VIGIL_STORE_UNAVAILABLE', message: ERRORS.VIGIL_STORE_UNAVAILABLE.message, retryAfter: 2 };
  return { status: 500, code: 'VIGIL_INTERNAL', message: ERRORS.VIGIL_INTERNAL.message };
}
