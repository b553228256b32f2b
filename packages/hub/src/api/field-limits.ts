import { MAX_JSON_FIELD_BYTES } from '@vigil/protocol';
import { VigilError } from '../errors.js';

/**
 * The free-form JSON fields of each kind of item. Their schemas bound keys, not bytes, so one key
 * could hold a megabyte that every list page would then carry; the size is checked here instead.
 * Text fields need no such check: their schemas' `maxLength` already bounds them.
 */
export const JSON_FIELDS = {
  agent: ['metadata'],
  event: ['metadata'],
  error: ['metadata'],
  trace: ['attributes'],
} as const satisfies Record<string, readonly string[]>;

/**
 * The first of `fields` in `item` larger than MAX_JSON_FIELD_BYTES as compact UTF-8 JSON, as a 413
 * whose message names the field (`where` is the item's path, e.g. `body` or `body.events[3]`) and the limit.
 */
export function oversizedJsonField(item: object, fields: readonly string[], where: string): VigilError | undefined {
  for (const field of fields) {
    const value = (item as Record<string, unknown>)[field];
    if (value === undefined) continue;
    const bytes = Buffer.byteLength(JSON.stringify(value));
    if (bytes > MAX_JSON_FIELD_BYTES) {
      return new VigilError('VIGIL_FIELD_TOO_LARGE', `${where}.${field} is ${bytes} bytes as JSON; the limit is ${MAX_JSON_FIELD_BYTES}`);
    }
  }
  return undefined;
}

/** Throws the 413 of `oversizedJsonField` for a single-item route's body. */
export function assertJsonFieldsFit(body: object, fields: readonly string[]): void {
  const problem = oversizedJsonField(body, fields, 'body');
  if (problem) throw problem;
}
