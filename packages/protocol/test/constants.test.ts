import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentError, AgentEvent, AgentEventTypeSchema, LlmTrace, Resources } from '../src/index.js';
import { AGENT_EVENT_TYPES, LLM_TRACE_FIELDS, MAX_GPUS, TEXT_LIMITS } from '../src/constants.js';

// The agent reads these plain values instead of the schemas (so it never loads TypeBox): they must be what the
// schemas the hub validates with actually say.
const maxLength = (schema: unknown): unknown => (schema as { maxLength?: unknown }).maxLength;

test('the text limits are the schemas’ maxLength', () => {
  assert.equal(maxLength(AgentEvent.properties.message), TEXT_LIMITS.message);
  assert.equal(maxLength(AgentError.properties.message), TEXT_LIMITS.message);
  assert.equal(maxLength(AgentError.properties.error_type), TEXT_LIMITS.errorType);
  assert.equal(maxLength(AgentError.properties.stack_trace), TEXT_LIMITS.stackTrace);
  assert.equal(maxLength(LlmTrace.properties.model), TEXT_LIMITS.model);
  assert.equal(maxLength(LlmTrace.properties.provider), TEXT_LIMITS.provider);
  assert.equal(maxLength(LlmTrace.properties.error), TEXT_LIMITS.message);
});

test('the LLM trace fields are exactly the schema’s properties', () => {
  assert.deepEqual([...LLM_TRACE_FIELDS].sort(), Object.keys(LlmTrace.properties).sort());
});

test('the event types and the GPU limit are the schemas’', () => {
  assert.deepEqual((AgentEventTypeSchema as unknown as { enum: unknown }).enum, [...AGENT_EVENT_TYPES]);
  assert.equal((Resources.properties.gpus as unknown as { maxItems: unknown }).maxItems, MAX_GPUS);
});
