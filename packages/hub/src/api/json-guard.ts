import { VigilError } from '../errors.js';

/** Deepest nesting a body may have; real payloads use a handful of levels. */
export const MAX_DEPTH = 32;

/**
 * Checks a parsed body for what JSON allows but storage must not take: NUL characters and lone
 * surrogates (PostgreSQL rejects both, which would fail a whole batch), non-finite numbers
 * (`1e309` parses to Infinity), prototype keys, and runaway nesting. Iterative, so a 5,000-level
 * body cannot overflow the stack.
 */
export function checkJson(value: unknown): VigilError | undefined {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v === 'string') {
      if (!isCleanText(v)) return new VigilError('VIGIL_BAD_TEXT');
    } else if (typeof v === 'number') {
      if (!Number.isFinite(v)) return new VigilError('VIGIL_VALIDATION', 'Numbers must be finite');
    } else if (v !== null && typeof v === 'object') {
      if (depth >= MAX_DEPTH) return new VigilError('VIGIL_TOO_DEEP', `The body nests deeper than ${MAX_DEPTH} levels`);
      if (Array.isArray(v)) {
        for (const item of v) stack.push([item, depth + 1]);
      } else {
        for (const [key, item] of Object.entries(v)) {
          const poisoned =
            key === '__proto__' || (key === 'constructor' && item !== null && typeof item === 'object' && 'prototype' in item);
          if (poisoned) {
            return new VigilError('VIGIL_VALIDATION', `Forbidden key ${JSON.stringify(key)}`);
          }
          if (!isCleanText(key)) return new VigilError('VIGIL_BAD_TEXT');
          stack.push([item, depth + 1]);
        }
      }
    }
  }
  return undefined;
}

function isCleanText(s: string): boolean {
  return !s.includes('\u0000') && s.isWellFormed();
}
