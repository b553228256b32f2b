import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { gzipSync } from 'node:zlib';

export interface Asset {
  body: Buffer;
  /** The gzip form, when it is smaller; sent to clients that accept it. */
  gzip: Buffer | undefined;
  type: string;
  etag: string;
  /** Vite names built files by their content hash, so they may be cached for good. */
  immutable: boolean;
}

export type DashboardBuild = { ok: true; dir: string; files: ReadonlyMap<string, Asset> } | { ok: false; dir: string; reason: string };

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/** The build is a few hundred KiB; anything far beyond is not a dashboard build and is refused. */
const MAX_FILES = 500;
const MAX_BYTES = 32 * 1024 * 1024;

/**
 * Reads the built dashboard into memory once, at start. Requests are then answered from this map by
 * exact URL path: no path from a request is ever joined to a directory, so no request can read a
 * file outside the build (docs/reliability.md I3). Files are gzipped here once rather than per request.
 */
export function loadDashboardBuild(dir: string): DashboardBuild {
  if (!existsSync(join(dir, 'index.html'))) {
    return { ok: false, dir, reason: `${join(dir, 'index.html')} does not exist` };
  }
  const files = new Map<string, Asset>();
  let total = 0;
  const walk = (at: string): void => {
    for (const entry of readdirSync(at, { withFileTypes: true })) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) {
        walk(path);
        continue;
      }
      const type = TYPES[extname(entry.name).toLowerCase()];
      if (!entry.isFile() || type === undefined) continue;
      total += statSync(path).size;
      if (files.size >= MAX_FILES || total > MAX_BYTES) throw new Error(`${dir} holds more than a dashboard build`);
      const body = readFileSync(path);
      const gzip = /^(text|application\/json|image\/svg)/.test(type) ? gzipSync(body, { level: 9 }) : undefined;
      const url = '/' + relative(dir, path).split(sep).join('/');
      files.set(url, {
        body,
        gzip: gzip && gzip.length < body.length ? gzip : undefined,
        type,
        etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
        immutable: url.startsWith('/assets/'),
      });
    }
  };
  walk(dir);
  return { ok: true, dir, files };
}
