import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelay, classifyStatus, MAX_RETRY_AFTER_MS, parseRetryAfter } from '../src/sdk/retry-policy.js';

const policy = { baseMs: 1000, capMs: 30_000 };

describe('SDK backoff', () => {
  test('doubles from the base up to the cap, jitter taking at most a quarter off', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 7, 50, 5000].map((n) => backoffDelay(n, policy, () => 0)),
      [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000],
    );
    assert.equal(
      backoffDelay(1, policy, () => 1),
      750,
    );
    assert.equal(
      backoffDelay(9, policy, () => 1),
      22_500,
    );
  });

  test('each gap is at least 1.5x the one before, whatever the jitter, until the cap', () => {
    for (let trial = 0; trial < 1000; trial++) {
      const gaps = [1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy, Math.random));
      for (let i = 1; i < gaps.length; i++) assert.ok((gaps[i] as number) >= 1.5 * (gaps[i - 1] as number), `gaps ${gaps.join(', ')}`);
      for (const n of [6, 10, 100]) assert.ok(backoffDelay(n, policy, Math.random) <= policy.capMs);
    }
  });

  test('jitter spreads a fleet: 100 clients failing together never all retry within one 100 ms window', () => {
    for (const retry of [1, 2, 6, 20]) {
      for (let trial = 0; trial < 50; trial++) {
        const at = Array.from({ length: 100 }, () => backoffDelay(retry, policy, Math.random));
        assert.ok(Math.max(...at) - Math.min(...at) > 100, `retry ${retry}: spread ${Math.max(...at) - Math.min(...at)} ms`);
      }
    }
  });
});

describe('SDK Retry-After parsing', () => {
  const now = Date.parse('2026-03-01T12:00:00Z');

  test('delay-seconds', () => {
    assert.equal(parseRetryAfter('1', now), 1000);
    assert.equal(parseRetryAfter('3', now), 3000);
    assert.equal(parseRetryAfter(' 120 ', now), 120_000);
    assert.equal(parseRetryAfter('99999999', now), MAX_RETRY_AFTER_MS, 'an absurd wait is capped');
  });

  test('HTTP-date in all three RFC 9110 forms', () => {
    assert.equal(parseRetryAfter('Sun, 01 Mar 2026 12:00:03 GMT', now), 3000);
    assert.equal(parseRetryAfter('Sunday, 01-Mar-26 12:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Sun Mar  1 12:00:07 2026', now), 7000);
  });

  test('absent, garbage, zero and past values leave the choice to the default backoff', () => {
    for (const v of [
      undefined,
      '',
      'soon',
      '-1',
      '1.5',
      '0',
      '3 seconds',
      'Sun, 01 Mar 2026 11:59:00 GMT',
      'Mon, 99 Foo 2026 99:99:99 GMT',
      '2026-03-01T12:00:10Z',
    ]) {
      assert.equal(parseRetryAfter(v, now), undefined, String(v));
    }
  });
});

describe('SDK answer classification', () => {
  test('status and hub code decide; never the message', () => {
    const table: [number, string | undefined, string][] = [
      [200, undefined, 'ok'],
      [201, undefined, 'ok'],
      [207, undefined, 'ok'],
      [400, 'VIGIL_VALIDATION', 'invalid'],
      [413, 'VIGIL_BODY_TOO_LARGE', 'invalid'],
      [415, undefined, 'invalid'],
      [422, 'VIGIL_TIMESTAMP_IN_FUTURE', 'invalid'],
      [401, 'VIGIL_UNAUTHORIZED', 'blocked'],
      [403, 'VIGIL_FORBIDDEN', 'blocked'],
      [409, undefined, 'blocked'],
      [404, 'VIGIL_ROUTE_NOT_FOUND', 'blocked'],
      [404, undefined, 'blocked'],
      [404, 'VIGIL_AGENT_NOT_FOUND', 'reregister'],
      [408, undefined, 'retry'],
      [429, 'VIGIL_INGEST_QUEUE_FULL', 'retry'],
      [500, 'VIGIL_INTERNAL', 'retry'],
      [502, undefined, 'retry'],
      [503, 'VIGIL_STORE_UNAVAILABLE', 'retry'],
      [504, undefined, 'retry'],
      [301, undefined, 'blocked'],
    ];
    for (const [status, code, verdict] of table) assert.equal(classifyStatus(status, code), verdict, `${status} ${code}`);
  });
});
