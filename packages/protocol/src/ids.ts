import { Type } from 'typebox';

/**
 * Agent ids appear in URL paths, log lines and (for `vigil run`) file names, so they are
 * restricted to a conservative alphabet: no slashes, no dots-only names, no whitespace.
 */
export const AgentId = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$',
  description: 'Agent id: 1-128 characters of A-Z a-z 0-9 _ . : -, starting with a letter or digit',
});

/** Client-generated idempotency id (UUIDv7 recommended); a retry with the same id is stored once. */
export const EventId = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$',
  description: 'Client-generated id that makes retries idempotent (UUIDv7 recommended)',
});

/** Epoch milliseconds, as sent by an agent (its own clock) or stamped by the hub. */
export const EpochMs = Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 });

/**
 * Most bytes a free-form JSON field (`metadata`, a trace's `attributes`) may take, as compact JSON
 * in UTF-8. A key count alone bounds nothing: one key may hold a megabyte. Checked by the hub after
 * the schema (JSON Schema cannot measure bytes); a bigger one is a 413 naming the field.
 */
export const MAX_JSON_FIELD_BYTES = 16 * 1024;

/** Free-form JSON object attached to agents, events and errors. */
export const Metadata = Type.Record(Type.String({ maxLength: 200 }), Type.Unknown(), {
  maxProperties: 100,
  description: `Free-form JSON object: at most 100 keys and ${MAX_JSON_FIELD_BYTES} bytes as JSON`,
  // TypeBox drops the key schema of a Record from the JSON Schema, so the key limit is stated here.
  propertyNames: { maxLength: 200 },
});
