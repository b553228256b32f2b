/** Who is calling, decided once per request from its bearer token. */
export type Principal =
  { kind: 'admin' } | { kind: 'agent'; keyId: string; agentId: string } | { kind: 'pool'; keyId: string; pool: string };

/**
 * The pool a write is confined to, checked inside the writer's transaction; undefined means
 * "any agent" (the admin) or "exactly one agent id" (an agent key, checked before enqueueing).
 */
export function allowedPool(p: Principal): string | undefined {
  return p.kind === 'pool' ? p.pool : undefined;
}

/** Whether the principal may write `agentId` without looking the agent up (admin and agent keys). */
export function mayWriteDirectly(p: Principal, agentId: string): boolean {
  return p.kind === 'admin' || (p.kind === 'agent' && p.agentId === agentId);
}
