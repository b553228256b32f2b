import type { Agent } from '../store/agents.js';

/** Default for `--llm-busy-window`. */
export const DEFAULT_BUSY_WINDOW_MS = 120_000;

/** `busy` while the agent's last LLM activity is within the window, `idle` after; null if it never had any. */
export type LlmState = 'busy' | 'idle' | null;

/**
 * Adds `llm_state` to an agent answer. Kept apart from the heartbeat `status` (alive or not): an
 * agent can be online and idle, and its activity is judged by the hub's clock when data arrived.
 */
export const llmActivity =
  (windowMs: number) =>
  (agent: Agent, now: number): Agent & { llm_state: LlmState } => ({
    ...agent,
    llm_state: agent.last_llm_activity_at === null ? null : now - Number(agent.last_llm_activity_at) <= windowMs ? 'busy' : 'idle',
  });
