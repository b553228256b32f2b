import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { uuidv7Generator } from '../src/sdk/uuid.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const msOf = (id: string) => parseInt(id.replaceAll('-', '').slice(0, 12), 16);

describe('SDK UUIDv7 ids', () => {
  test('carry the version and variant bits and the millisecond timestamp', () => {
    const at = Date.parse('2026-03-01T12:00:00.123Z');
    const id = uuidv7Generator(() => at)();
    assert.match(id, UUID_V7);
    assert.equal(msOf(id), at);
    assert.equal(msOf(uuidv7Generator(() => 2 ** 48 - 1)()), 2 ** 48 - 1);
  });

  test('sort in creation order within one millisecond and when the clock steps back', () => {
    let t = 1_700_000_000_000;
    const next = uuidv7Generator(() => t);
    const ids: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      if (i === 5000) t -= 60_000;
      if (i % 3000 === 0) t += 1;
      ids.push(next());
    }
    for (const id of ids) assert.match(id, UUID_V7);
    assert.deepEqual([...ids].sort(), ids);
    assert.equal(new Set(ids).size, ids.length);
  });

  test('generators in different processes do not collide', () => {
    const ids = new Set<string>();
    for (let g = 0; g < 100; g++) {
      const next = uuidv7Generator(() => 1_700_000_000_000);
      for (let i = 0; i < 100; i++) ids.add(next());
    }
    assert.equal(ids.size, 10_000);
  });
});
