import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errorBody, eventBody, traceBody, truncate, wireReplacer } from '../src/sdk/items.js';

describe('SDK report bodies', () => {
  test('an Error gives its name, message and stack, with its causes', () => {
    class QuotaError extends Error {
      override name = 'QuotaError';
    }
    const root = new TypeError('socket hang up');
    const err = new QuotaError('model call failed', { cause: root });
    const body = errorBody(err, { job: 7 });
    assert.equal(body.error_type, 'QuotaError');
    assert.equal(body.message, 'model call failed');
    assert.match(body.stack_trace ?? '', /^QuotaError: model call failed\n\s+at /);
    assert.match(body.stack_trace ?? '', /\nCaused by: TypeError: socket hang up\n\s+at /);
    assert.deepEqual(body.metadata, { job: 7 });
  });

  test('a cause cycle ends', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    assert.equal(errorBody(a, undefined).stack_trace?.split('Caused by:').length, 2);
  });

  test('anything else thrown is a NonError with its text', () => {
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    const cases: [unknown, string, string][] = [
      ['boom', 'NonError', 'boom'],
      [42, 'NonError', '42'],
      [null, 'NonError', 'null'],
      [undefined, 'NonError', 'undefined'],
      [{ code: 'E1' }, 'NonError', '{"code":"E1"}'],
      [circular, 'NonError', '[object Object]'],
      [10n, 'NonError', '"10"'],
      [{ name: 'AbortError', message: 'aborted' }, 'AbortError', 'aborted'],
      [{ name: '', message: 'no name' }, 'Error', 'no name'],
    ];
    for (const [thrown, type, message] of cases) {
      const body = errorBody(thrown, undefined);
      assert.equal(body.error_type, type, String(thrown));
      assert.equal(body.message, message, String(thrown));
    }
  });

  test('text is cut to the hub limits without splitting a surrogate pair', () => {
    assert.equal(truncate('abc', 5), 'abc');
    assert.equal(truncate('ab😀c', 3), 'ab');
    assert.equal(truncate('ab😀c', 4), 'ab😀');
    const long = eventBody('info', 'x'.repeat(10_000), undefined);
    assert.equal(long.message?.length, 8192);
    const err = errorBody(Object.assign(new Error('m'), { name: 'N'.repeat(500) }), undefined);
    assert.equal(err.error_type.length, 200);
  });

  test('metadata that is not a plain object is left out', () => {
    assert.equal(eventBody('info', 'm', [1, 2]).metadata, undefined);
    assert.equal(eventBody('info', 'm', 'text').metadata, undefined);
  });

  test('the wire form repairs what would make the hub refuse a whole batch', () => {
    const json = JSON.stringify(
      { s: 'a\u0000b\ud800c', n: NaN, i: Infinity, ok: 1.5, big: 2n ** 70n, nested: [{ x: -Infinity }] },
      wireReplacer,
    );
    assert.deepEqual(JSON.parse(json), { s: 'a\ufffdb\ufffdc', ok: 1.5, big: '1180591620717411303424', nested: [{}] });
  });

  test('a trace keeps only the schema fields', () => {
    const t = traceBody({ model: 'm', input_tokens: 3, status: 'ok', extra: 'x', attributes: 'no' } as never);
    assert.deepEqual(t, { model: 'm', input_tokens: 3, status: 'ok' });
  });
});
