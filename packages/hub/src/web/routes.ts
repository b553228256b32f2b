import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Routes } from '../api/context.js';
import type { Asset } from './assets.js';

/**
 * The dashboard's own addresses (packages/web/src/app/routes.ts): a reload or a shared link to one of
 * them gets the app's index.html. Anything else that is not a built file is a 404: the app's page
 * that says so for a browser, JSON for anything else and always under /api, and never a file
 * outside the build (`/../../etc/passwd`).
 */
const CLIENT_ROUTES = [/^\/$/, /^\/agents\/[^/]+$/, /^\/(errors|events|capacity|storage|alerts)$/];

const NOT_BUILT =
  '<!doctype html><html lang="en"><meta charset="utf-8"><title>Vigil hub</title>' +
  '<h1>Vigil hub is running</h1>' +
  '<p>The web dashboard has not been built. From the repository, run <code>npm run build</code> ' +
  '(or <code>npm run build:web</code>) and restart the hub, or point <code>--web-dir</code> at a built dashboard.</p>' +
  '<p>The API works meanwhile: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></html>';

/** Serves the built dashboard at `/` with its client routes; the API stays under `/api`. */
export const dashboardRoutes: Routes = (app, { dashboard }) => {
  const serve = async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0] ?? '/';
    if (path === '/api' || path.startsWith('/api/')) return reply.callNotFound();
    if (!dashboard.ok) {
      if (!CLIENT_ROUTES.some((r) => r.test(path))) return reply.callNotFound();
      return reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .header('content-security-policy', "default-src 'none'")
        .send(NOT_BUILT);
    }
    const file = dashboard.files.get(path);
    if (file && path !== '/index.html') return sendAsset(req, reply, file);
    const index = dashboard.files.get('/index.html');
    if (index && CLIENT_ROUTES.some((r) => r.test(path))) return sendAsset(req, reply, index);
    // A person who follows a bad link sees the dashboard's own "not found" page, still with a 404;
    // a program (no text/html in Accept) gets the JSON one.
    if (index && wantsHtml(req)) {
      return reply.status(404).type(index.type).header('cache-control', 'no-cache').send(index.body);
    }
    return reply.callNotFound();
  };
  app.get('/', { config: { access: 'public' }, schema: { hide: true } }, serve);
  app.get('/*', { config: { access: 'public' }, schema: { hide: true } }, serve);
};

function wantsHtml(req: FastifyRequest): boolean {
  return /\btext\/html\b/.test(String(req.headers.accept ?? ''));
}

function sendAsset(req: FastifyRequest, reply: FastifyReply, asset: Asset) {
  reply
    .type(asset.type)
    .header('etag', asset.etag)
    .header('vary', 'accept-encoding')
    .header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (req.headers['if-none-match'] === asset.etag) return reply.status(304).send();
  if (asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) {
    return reply.header('content-encoding', 'gzip').send(asset.gzip);
  }
  return reply.send(asset.body);
}
