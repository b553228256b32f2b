import { Type, type Static } from 'typebox';
import { AgentId, Metadata } from './ids.js';

export const AGENT_STATUSES = ['online', 'offline', 'busy'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];
export const AgentStatusSchema = Type.Enum(AGENT_STATUSES);

const label = (description: string) => Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$', description });

/**
 * Registration body. Server-owned fields (status, performance_score, registered_at) are not
 * accepted: `additionalProperties: false` turns an attempt to set them into a 400.
 */
export const RegisterAgent = Type.Object(
  {
    agent_id: Type.Optional(AgentId),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    agent_type: label('orchestrator, infra, desktop, code, research, or another word'),
    pool_name: Type.Optional(label('Pool the agent belongs to (default "default")')),
    capabilities: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { maxItems: 100, uniqueItems: true })),
    metadata: Type.Optional(Metadata),
    heartbeat_interval_s: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 3600, description: 'Expected heartbeat interval (default 15 s)' }),
    ),
  },
  { additionalProperties: false },
);
export type RegisterAgent = Static<typeof RegisterAgent>;
