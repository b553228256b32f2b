import { Type } from 'typebox';
import { AgentId } from '@vigil/protocol';

/** Path parameters shared by several route modules. */
export const AgentParams = Type.Object({ agentId: AgentId });

const RowId = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
export const ErrorParams = Type.Object({ errorId: RowId });
