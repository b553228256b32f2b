import assert from 'node:assert/strict';
import { ERRORS, type ErrorCode } from '../../src/errors.js';

/** An HTTP answer as the tests hold it; `text` is the raw body when the caller kept it. */
export interface ErrorReply {
  status: number;
  headers: Record<string, unknown>;
  body: any;
  text?: string;
}

/**
 * The error-shape oracle (docs/errors.md): a JSON `{error: {code, message}}` whose code is in the
 * table and whose status is that code's, with a non-empty message that leaks no stack, SQL or path.
 * With `code`, the answer must also be that one.
 */
export function assertErrorShape(r: ErrorReply, where: string, code?: ErrorCode): void {
  const text = r.text ?? JSON.stringify(r.body);
  assert.match(String(r.headers['content-type']), /^application\/json/, `${where}: content-type ${r.headers['content-type']}`);
  assert.ok(r.body && typeof r.body === 'object' && r.body.error, `${where}: body ${text.slice(0, 200)}`);
  const got = r.body.error.code as ErrorCode;
  assert.ok(typeof got === 'string' && got in ERRORS, `${where}: unknown code ${JSON.stringify(got)} in ${text.slice(0, 200)}`);
  if (code !== undefined) assert.equal(got, code, `${where}: ${text.slice(0, 200)}`);
  assert.equal(ERRORS[got].status, r.status, `${where}: status ${r.status} does not match ${got}`);
  assert.equal(typeof r.body.error.message, 'string', `${where}: message`);
  assert.ok(r.body.error.message.length > 0, `${where}: empty message`);
  assert.ok(!/\n\s+at |SELECT |INSERT |\/home\/|\/work\/|node_modules/.test(text), `${where}: leaks internals: ${text.slice(0, 200)}`);
}
