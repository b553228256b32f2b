import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../config/config.js';
import { createLogger, startHub, type Hub } from '../main.js';
import { createFleet, registration, step, type SimAction, type SimAgent } from './simulator.js';

export interface DemoOptions {
  /** `vigil server` options (`--port`, `--data-dir`, …); without `--data-dir` the demo uses a temp dir. */
  serverArgs: string[];
  env: NodeJS.ProcessEnv;
  agents: number;
  out: NodeJS.WritableStream;
}

export interface Demo {
  hub: Hub;
  agents: SimAgent[];
  stop(): Promise<void>;
}

const PATHS: Record<SimAction['kind'], (id: string) => string> = {
  register: () => '/api/v1/agents',
  heartbeat: (id) => `/api/v1/agents/${encodeURIComponent(id)}/heartbeat`,
  event: (id) => `/api/v1/agents/${encodeURIComponent(id)}/events`,
  error: (id) => `/api/v1/agents/${encodeURIComponent(id)}/errors`,
};

/**
 * `vigil demo`: a hub on SQLite with simulated agents that report through the hub's real HTTP API
 * (the same routes and validation as real agents), so the dashboard has a moving fleet to show.
 */
export async function startDemo(opts: DemoOptions): Promise<Demo> {
  const args = [...opts.serverArgs];
  let tempDir: string | undefined;
  if (!args.some((a) => a === '--data-dir' || a.startsWith('--data-dir=')) && opts.env.VIGIL_DATA_DIR === undefined) {
    tempDir = mkdtempSync(join(tmpdir(), 'vigil-demo-'));
    args.push('--data-dir', tempDir);
  }
  // A fresh token for the demo unless one is set; it is printed, as the point is to paste it.
  const ownToken = !args.some((a) => a === '--admin-token' || a.startsWith('--admin-token=')) && opts.env.VIGIL_ADMIN_TOKEN === undefined;
  if (ownToken) args.push('--admin-token', `vgl_demo_${randomBytes(18).toString('base64url')}`);
  const config = loadConfig(args, { ...opts.env, VIGIL_LOG_LEVEL: opts.env.VIGIL_LOG_LEVEL ?? 'warn' });
  const hub = await startHub(config, { logger: createLogger(config.logLevel) });
  const random = Math.random;
  const agents = createFleet(opts.agents, Date.now(), random);
  const headers = { authorization: `Bearer ${hub.adminToken}`, 'content-type': 'application/json' };
  let warned = false;
  const send = async (a: SimAction) => {
    try {
      const res = await fetch(hub.url + PATHS[a.kind](a.agentId), { method: 'POST', headers, body: JSON.stringify(a.body) });
      await res.arrayBuffer();
      if (!res.ok && !warned) {
        warned = true;
        opts.out.write(`demo: the hub refused a simulated ${a.kind} with ${res.status}\n`);
      }
    } catch {
      // The hub is stopping; the next tick will not run.
    }
  };
  for (const a of agents) await send(registration(a));
  for (const a of agents) await send({ kind: 'event', agentId: a.id, body: { event_type: 'started', message: 'demo agent started' } });

  let ticking = false;
  const timer = setInterval(() => {
    if (ticking) return;
    ticking = true;
    const now = Date.now();
    void (async () => {
      for (const a of agents) for (const action of step(a, now, random)) await send(action);
    })().finally(() => {
      ticking = false;
    });
  }, 250);

  opts.out.write(
    `\nVigil demo: ${agents.length} simulated agents report to the hub through its API.\n\n` +
      `  Open:  ${hub.url}/\n` +
      (ownToken ? `  Token: ${hub.adminToken}\n         (paste it into the sign-in page)\n` : `  Token: the admin token you gave\n`) +
      `  Data:  ${config.dataDir}${tempDir ? ' (removed when the demo stops)' : ''}\n\n` +
      `Ctrl-C stops the demo.\n\n`,
  );

  return {
    hub,
    agents,
    stop: async () => {
      clearInterval(timer);
      await hub.stop();
      if (tempDir) rmSync(tempDir, { recursive: true, force: true });
    },
  };
}
