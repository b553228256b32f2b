import type { Agent } from '../store/agents.js';

/** Default for `--llm-busy-window`. */
export const DEFAULT_BUSY_WINDOW_MS = 120_000;

/** `busy` while the agent's last LLM activity is within the window, `idle` after; null if it never had any. */
export type LlmState = 'busy' | 'idle' | null;

/** Set by `vigil run` in the agent's metadata when it pointed the command's OTLP export at the hub. */
export const TELEMETRY_SINCE_KEY = 'otel_export_since';

/** The shortest wait before an agent expected to send telemetry is called silent. */
const MIN_SILENT_MS = 180_000;

export interface AgentActivity {
  llm_state: LlmState;
  /** Why an agent whose OTLP export `vigil run` set up has sent none lately; null when all is well. */
  telemetry_silent: string | null;
}

/**
 * Adds `llm_state` and `telemetry_silent` to an agent answer. Both are judged by the hub's clock
 * when data arrived, apart from the heartbeat `status` (alive or not): an agent can be online and
 * idle, or alive while its telemetry is lost.
 */
export const llmActivity =
  (windowMs: number) =>
  (agent: Agent, now: number): Agent & AgentActivity => ({
    ...agent,
    llm_state: agent.last_llm_activity_at === null ? null : now - Number(agent.last_llm_activity_at) <= windowMs ? 'busy' : 'idle',
    telemetry_silent: silence(agent, now),
  });

/**
 * Silent: `vigil run` set up the export at `since`, the process is alive (heartbeats arrive), and
 * no OTLP data came for three heartbeat intervals (at least three minutes) since then.
 */
function silence(agent: Agent, now: number): string | null {
  const since = Number(agent.metadata[TELEMETRY_SINCE_KEY]);
  if (!Number.isFinite(since) || since <= 0 || agent.status === 'offline') return null;
  const windowMs = Math.max(MIN_SILENT_MS, 3 * agent.heartbeat_interval_s * 1000);
  const last = agent.last_telemetry_at === null ? null : Number(agent.last_telemetry_at);
  if (now - since < windowMs || (last !== null && last >= since && now - last < windowMs)) return null;
  const quiet = Math.round((now - Math.max(since, last ?? 0)) / 1000);
  return (
    `No OpenTelemetry data for ${quiet} s although vigil run set up the export. Known causes: the command does not ` +
    'speak OpenTelemetry (Claude Code and OTel-instrumented programs do); its own settings override the OTEL_* ' +
    'variables (e.g. OTEL_METRICS_EXPORTER=none, or managed settings); the exporter cannot reach the hub from where ' +
    'the command runs; or the hub refused its key (401/403 in the hub log).'
  );
}
