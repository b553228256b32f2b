import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatAgo, NONE } from '../src/ui/format.js';
import { statusView } from '../src/ui/status.js';

test('an offline agent says why: crashed, failed to start, stopped, silent', () => {
  assert.deepEqual(
    [
      ['offline', 'crashed'],
      ['offline', 'failed_to_start'],
      ['offline', 'stopped'],
      ['offline', 'missed_heartbeats'],
      ['offline', null],
      ['online', null],
      ['busy', null],
    ].map(([s, r]) => {
      const v = statusView(s as 'online' | 'busy' | 'offline', r);
      return `${v.kind}:${v.label}`;
    }),
    ['crashed:crashed', 'crashed:failed to start', 'stopped:stopped', 'silent:silent', 'offline:offline', 'online:online', 'busy:busy'],
  );
});

test('ages read as "ago"', () => {
  const now = 1_700_000_000_000;
  assert.equal(formatAgo(now - 40_000, now), '40 s ago');
  assert.equal(formatAgo(now, now), 'now');
  assert.equal(formatAgo(null, now), NONE);
});
