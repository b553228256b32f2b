import { Collector, parsePid, toProcessMetrics, toResources } from '@vigil/agent';
import type { Clock } from '../clock.js';
import type { Writer } from '../ingest/writer.js';
import type { Bus } from '../live/bus.js';
import type { LiveMessage } from '../live/messages.js';
import { getAgent } from '../store/agents.js';
import type { Db } from '../store/db.js';

/** Most agents whose processes one hub samples at once: each costs a timer and a few open /proc files. */
export const MAX_SAMPLED_PIDS = 256;

/** Marks a heartbeat the hub took itself (kept in `resource_metrics`, shown on the agent page). */
export const SAMPLED_BY_FIELD = 'sampled_by';

export interface LocalPidOptions {
  onError: (err: unknown) => void;
  /** Tests lower the bound to see it hold. */
  maxPids?: number;
}

interface Watch {
  pid: number;
  collector: Collector;
  timer: NodeJS.Timeout;
  busy: boolean;
}

/**
 * The monitoring API's sampling from the hub (docs/seed-requirements.md): an agent that registers with `metadata.pid` of a process alive
 * on the hub's own host gets heartbeats the hub takes itself, from that process tree, at the agent's
 * interval, until the process exits. The hub did not start the process, so it cannot learn its exit
 * status: an exit is reported as a `stopped` event saying so (docs/local-pids.md), never as a crash.
 *
 * Registrations arrive from the bus (after their commit) and samples go back through the single
 * writer, so this job is one more writer client, like the host metrics job.
 */
export class LocalPidSampler {
  private readonly watches = new Map<string, Watch>();
  private unsubscribe: (() => void) | undefined;
  private stopped = false;
  private readonly maxPids: number;

  constructor(
    private readonly writer: Writer,
    private readonly db: Db,
    private readonly bus: Bus,
    private readonly clock: Clock,
    private readonly options: LocalPidOptions,
  ) {
    this.maxPids = options.maxPids ?? MAX_SAMPLED_PIDS;
  }

  start(): void {
    this.unsubscribe = this.bus.subscribe((messages) => this.onCommit(messages));
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    for (const agentId of [...this.watches.keys()]) this.unwatch(agentId);
  }

  /** Agents sampled now, with their PIDs (for tests and diagnostics). */
  watched(): Map<string, number> {
    return new Map([...this.watches].map(([id, w]) => [id, w.pid]));
  }

  private onCommit(messages: readonly LiveMessage[]): void {
    for (const m of messages) {
      if (m.type === 'agent_status' && m.reason === 'registered') {
        this.consider(m.agent_id).catch(this.options.onError);
      } else if (m.type === 'agent_removed') {
        this.unwatch(m.agent_id);
      } else if (m.type === 'agent_status' && m.status === 'offline' && m.reason !== 'missed_heartbeats') {
        // The agent (or `vigil run`) reported its own stop or crash: nothing left to sample.
        this.unwatch(m.agent_id);
      }
    }
  }

  private async consider(agentId: string): Promise<void> {
    const agent = await getAgent(this.db, agentId);
    if (this.stopped || !agent) return;
    // A number or a decimal string, as registration metadata may carry it.
    const pid = parsePid(agent.metadata.pid);
    const current = this.watches.get(agentId);
    if (current && current.pid === pid) return;
    this.unwatch(agentId);
    if (pid === undefined || !isAlive(pid)) return;
    if (this.watches.size >= this.maxPids) {
      this.options.onError(new Error(`not sampling PID ${pid} of agent ${agentId}: already sampling ${this.maxPids} processes`));
      return;
    }
    const collector = new Collector({ pid, tree: true, gpu: false });
    const watch: Watch = {
      pid,
      collector,
      busy: false,
      timer: setInterval(() => this.tick(agentId, watch), agent.heartbeat_interval_s * 1000),
    };
    watch.timer.unref();
    this.watches.set(agentId, watch);
    this.tick(agentId, watch);
  }

  private tick(agentId: string, watch: Watch): void {
    // A slow writer must not pile samples up: one at a time per agent.
    if (watch.busy) return;
    watch.busy = true;
    this.sampleOnce(agentId, watch)
      .catch(this.options.onError)
      .finally(() => (watch.busy = false));
  }

  private async sampleOnce(agentId: string, watch: Watch): Promise<void> {
    const s = await watch.collector.sample();
    if (this.watches.get(agentId) !== watch) return;
    const now = this.clock.now();
    if (!s.process) {
      this.unwatch(agentId);
      await this.writer.submitOne(
        {
          kind: 'event',
          agentId,
          now,
          event: {
            event_type: 'stopped',
            message: `process ${watch.pid} exited; the hub did not start it, so its exit status is unknown`,
            metadata: { pid: watch.pid, [SAMPLED_BY_FIELD]: 'hub', exit_code: null },
          },
        },
        { background: true },
      );
      return;
    }
    const resources = { ...toResources(s), [SAMPLED_BY_FIELD]: 'hub' };
    await this.writer.submitOne(
      { kind: 'heartbeat', agentId, now, heartbeat: { resources, metrics: toProcessMetrics(s) } },
      { background: true },
    );
  }

  private unwatch(agentId: string): void {
    const w = this.watches.get(agentId);
    if (!w) return;
    this.watches.delete(agentId);
    clearInterval(w.timer);
    w.collector.close();
  }
}

/** Signal 0 checks existence only; EPERM means the process is there but belongs to another user. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
