import { createHash } from 'node:crypto';

// Parts of a message that change between occurrences of the same failure. Each pattern is a single
// character class or fixed sequence under one quantifier, so matching stays linear (no ReDoS).
const VOLATILE: [RegExp, string][] = [
  [/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '<uuid>'],
  [/0x[0-9a-f]+/gi, '<hex>'],
  [/\b[0-9a-f]{16,}\b/gi, '<hex>'],
  [/\d+/g, '<n>'],
  [/\s+/g, ' '],
];

/** The message with ids, addresses and numbers replaced, so repeats of one failure compare equal. */
export function normaliseMessage(message: string): string {
  let out = message.slice(0, 2000);
  for (const [pattern, token] of VOLATILE) out = out.replace(pattern, token);
  return out.trim();
}

/** The innermost stack frame (JavaScript `at …` or Python `File "…", line N, in f`) without line numbers. */
export function topFrame(stack: string | undefined): string {
  if (!stack) return '';
  const lines = stack.split('\n', 60);
  const js = lines.find((l) => /^\s*at\s/.test(l));
  if (js) return js.trim().replace(/:\d+(:\d+)?\)?$/, '');
  // Python prints the innermost frame last.
  const py = lines.filter((l) => /^\s*File "/.test(l)).at(-1);
  return py ? py.trim().replace(/, line \d+/, '') : '';
}

/** Groups repeated errors: type + normalised message + top stack frame. */
export function errorFingerprint(errorType: string, message: string, stack: string | undefined): string {
  return createHash('sha256')
    .update(`${errorType}\n${normaliseMessage(message)}\n${topFrame(stack)}`)
    .digest('hex')
    .slice(0, 32);
}
