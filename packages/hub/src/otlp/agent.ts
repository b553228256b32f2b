import { createHash } from 'node:crypto';
import type { Principal } from '../auth/principal.js';
import { stringAttr, type Attrs } from './attributes.js';

const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/;

/** The attribute that names a Vigil agent explicitly, on the resource or on a record. */
export const AGENT_ID_ATTR = 'vigil.agent_id';

export type AgentChoice =
  | { ok: true; agentId: string; source: 'key' | 'vigil.agent_id' | 'service.instance.id' | 'user.id' }
  /** `forbidden`: an agent key sent data naming another agent (the whole request is refused, 403). */
  | { ok: false; reason: 'forbidden' | 'unidentified' | 'invalid_id' };

/**
 * Which agent a record belongs to. An agent key names its agent, and a record naming another one is
 * refused; otherwise `vigil.agent_id` (resource, then record), then `service.instance.id`, then, for
 * an unkeyed Claude Code (whose resource has no instance id), one agent per installation from
 * `user.id` (a hash of the installation), never one per `session.id`.
 */
export function chooseAgent(principal: Principal, resource: Attrs, record: Attrs): AgentChoice {
  const named = stringAttr(record, AGENT_ID_ATTR) ?? stringAttr(resource, AGENT_ID_ATTR);
  if (principal.kind === 'agent') {
    if (named !== undefined && named !== principal.agentId) return { ok: false, reason: 'forbidden' };
    return { ok: true, agentId: principal.agentId, source: 'key' };
  }
  if (named !== undefined)
    return AGENT_ID.test(named) ? { ok: true, agentId: named, source: AGENT_ID_ATTR } : { ok: false, reason: 'invalid_id' };
  const instance = stringAttr(resource, 'service.instance.id') ?? stringAttr(record, 'service.instance.id');
  if (instance !== undefined) {
    const id = sanitize(instance);
    return id ? { ok: true, agentId: id, source: 'service.instance.id' } : { ok: false, reason: 'invalid_id' };
  }
  const user = stringAttr(record, 'user.id') ?? stringAttr(resource, 'user.id');
  if (user !== undefined && isClaudeCode(resource)) {
    // user.id is Claude Code's per-installation id; hashed so the agent id shows nothing of it.
    return { ok: true, agentId: `claude-code-${createHash('sha256').update(user).digest('hex').slice(0, 16)}`, source: 'user.id' };
  }
  return { ok: false, reason: 'unidentified' };
}

export const isClaudeCode = (resource: Attrs): boolean => stringAttr(resource, 'service.name') === 'claude-code';

/** An instance id made into an agent id: characters outside the alphabet become `-`, cut to 128. */
function sanitize(raw: string): string | undefined {
  const id = raw
    .replace(/[^A-Za-z0-9_.:-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, 128);
  return AGENT_ID.test(id) ? id : undefined;
}
