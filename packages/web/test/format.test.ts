import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatAge,
  formatBytes,
  formatCount,
  formatGb,
  formatMb,
  formatNumber,
  formatPercent,
  formatRate,
  formatTime,
  formatValue,
  NONE,
} from '../src/ui/format.js';

const group = (n: number) => new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 }).format(n);
const oneDecimal = (n: number) => new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(n);

test('a value never measured reads as an em dash, never as 0', () => {
  for (const f of [formatPercent, formatMb, formatGb, formatCount, formatRate, formatBytes, formatNumber]) {
    assert.equal(f(null), NONE);
    assert.equal(f(undefined), NONE);
    assert.equal(f(Number.NaN), NONE);
  }
  assert.equal(formatAge(null, 0), NONE);
  assert.equal(formatTime(undefined, 0), NONE);
  assert.equal(formatPercent(0), '0.0%', 'a measured zero is shown');
});

test('percent: one decimal below 100, none above (multi-core processes exceed 100%)', () => {
  assert.equal(formatPercent(12.345), '12.3%');
  assert.equal(formatPercent(99.94), '99.9%');
  assert.equal(formatPercent(1450.4), `${group(1450)}%`);
});

test('memory, gigabytes, counts and rates', () => {
  assert.equal(formatMb(1536.4), `${group(1536)} MB`);
  assert.equal(formatGb(23.46), '23.5 GB');
  assert.equal(formatCount(7), '7');
  assert.equal(formatNumber(1.25), '1.3');
  assert.equal(formatNumber(12), '12');
  assert.equal(formatRate(512), '512 B/s');
  assert.equal(formatRate(2048), '2.0 KB/s');
  assert.equal(formatRate(3.2 * 1024 * 1024), '3.2 MB/s');
  assert.equal(formatRate(5 * 1024 ** 5), `${oneDecimal(5120)} TB/s`, 'the largest unit caps');
  assert.equal(formatBytes(0), '0 B');
  assert.equal(formatBytes(1536), '1.5 KB');
  assert.equal(formatBytes(1.4 * 1024 ** 3), '1.4 GB');
});

test('age: the coarsest unit that fits; clock skew into the future reads as now', () => {
  const now = 1_000_000_000;
  assert.equal(formatAge(now, now), 'now');
  assert.equal(formatAge(now + 5000, now), 'now');
  assert.equal(formatAge(now - 42_000, now), '42 s');
  assert.equal(formatAge(now - 5 * 60_000, now), '5 min');
  assert.equal(formatAge(now - 3 * 3_600_000, now), '3 h');
  assert.equal(formatAge(now - 49 * 3_600_000, now), '2 d');
});

test("times are shown in the viewer's zone: the time alone today, with the date otherwise", () => {
  const at = Date.UTC(2026, 0, 15, 23, 30, 0);
  const opts = { locale: 'en-GB' };
  assert.equal(formatTime(at, at + 60_000, { ...opts, timeZone: 'UTC' }), '23:30:00');
  // In Tokyo (UTC+9) the same instant is 08:30 on the 16th, which is "today" there an hour later.
  assert.equal(formatTime(at, at + 3_600_000, { ...opts, timeZone: 'Asia/Tokyo' }), '08:30:00');
  // …and a day later in UTC it carries its date.
  assert.match(formatTime(at, at + 86_400_000, { ...opts, timeZone: 'UTC' }), /15 Jan.*23:30:00/);
});

test('values from agents are shown as text, cut when long', () => {
  assert.equal(formatValue('<img src=x onerror=alert(1)>'), '<img src=x onerror=alert(1)>', 'kept verbatim: React renders it as text');
  assert.equal(formatValue({ a: [1, 2] }), '{"a":[1,2]}');
  assert.equal(formatValue(undefined), 'undefined');
  assert.equal(formatValue('x'.repeat(300), 10), `${'x'.repeat(9)}…`);
});
