import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { DeliveryBuffer, ITEM_KINDS, type ItemKind, type QueuedItem } from '../src/sdk/buffer.js';

const item = (kind: ItemKind, tag: string | number, bytes = 100): QueuedItem => ({ kind, at: 0, json: JSON.stringify({ tag }), bytes });
const tags = (items: QueuedItem[]) => items.map((it) => JSON.parse(it.json).tag);
const dropped = (b: DeliveryBuffer) => ITEM_KINDS.reduce((n, k) => n + b.dropped[k], 0);

describe('SDK delivery buffer', () => {
  test('stays within its byte and item bounds', () => {
    const byBytes = new DeliveryBuffer({ maxBytes: 1000, maxItems: 1_000_000 });
    const byCount = new DeliveryBuffer({ maxBytes: 1_000_000, maxItems: 7 });
    for (let i = 0; i < 500; i++) {
      byBytes.add(item(i % 3 === 0 ? 'heartbeat' : 'event', i, 90 + (i % 20)));
      byCount.add(item('event', i));
      assert.ok(byBytes.pendingBytes <= 1000);
      assert.ok(byCount.pending <= 7);
    }
    assert.equal(byCount.pending, 7);
    assert.deepEqual(tags(byCount.take(100, Infinity)), [493, 494, 495, 496, 497, 498, 499]);
  });

  test('sheds heartbeats first, oldest first, then the oldest records', () => {
    const b = new DeliveryBuffer({ maxBytes: 500, maxItems: 100 });
    b.add(item('heartbeat', 'h1'));
    b.add(item('event', 'e1'));
    b.add(item('heartbeat', 'h2'));
    b.add(item('error', 'x1'));
    b.add(item('trace', 't1'));
    b.add(item('event', 'e2')); // full: the oldest heartbeat goes
    assert.deepEqual({ ...b.dropped }, { heartbeat: 1, event: 0, error: 0, trace: 0 });
    b.add(item('event', 'e3')); // the other heartbeat goes
    assert.deepEqual({ ...b.dropped }, { heartbeat: 2, event: 0, error: 0, trace: 0 });
    b.add(item('event', 'e4')); // no heartbeats left: the oldest record goes
    assert.deepEqual({ ...b.dropped }, { heartbeat: 2, event: 1, error: 0, trace: 0 });
    b.add(item('heartbeat', 'h3')); // a new heartbeat never displaces a record: it is shed itself
    assert.deepEqual({ ...b.dropped }, { heartbeat: 3, event: 1, error: 0, trace: 0 });
    assert.deepEqual(tags(b.take(100, Infinity)), ['x1', 't1', 'e2', 'e3', 'e4']);
  });

  test('an item larger than the whole bound is shed without emptying the buffer', () => {
    const b = new DeliveryBuffer({ maxBytes: 300, maxItems: 100 });
    b.add(item('event', 'small'));
    b.add(item('event', 'huge', 301));
    assert.equal(b.pending, 1);
    assert.equal(b.dropped.event, 1);
  });

  test('take hands out the oldest items across kinds, within the batch limits, at least one', () => {
    const b = new DeliveryBuffer({ maxBytes: 1e6, maxItems: 1e6 });
    b.add(item('event', 'e1'));
    b.add(item('heartbeat', 'h1'));
    b.add(item('error', 'x1', 1000));
    b.add(item('heartbeat', 'h2'));
    assert.deepEqual(tags(b.take(2, Infinity)), ['e1', 'h1']);
    assert.deepEqual(tags(b.take(10, 500)), ['x1'], 'an item over the byte limit still goes, alone');
    assert.deepEqual(tags(b.take(10, 500)), ['h2']);
    assert.equal(b.take(10, 500).length, 0);
    assert.equal(b.pending, 4, 'taken items stay pending until settled');
    assert.equal(b.waiting, 0);
  });

  test('requeued items go back in front, in order, and in-flight items count against the bound', () => {
    const b = new DeliveryBuffer({ maxBytes: 400, maxItems: 100 });
    for (const t of ['e1', 'e2', 'e3']) b.add(item('event', t));
    const batch = b.take(2, Infinity);
    b.add(item('event', 'e4'));
    b.add(item('event', 'e5')); // full with e1..e4: the oldest waiting record (e3) goes, never one in flight
    assert.deepEqual(tags(batch), ['e1', 'e2']);
    assert.equal(b.dropped.event, 1);
    b.requeue(batch);
    assert.deepEqual(tags(b.take(100, Infinity)), ['e1', 'e2', 'e4', 'e5']);
  });

  test('recorded = delivered + dropped + dropped invalid + pending, through any sequence of operations', () => {
    const op = fc.oneof(
      fc.record({ op: fc.constant('add' as const), kind: fc.constantFrom(...ITEM_KINDS), bytes: fc.integer({ min: 1, max: 400 }) }),
      fc.record({ op: fc.constant('send' as const), n: fc.integer({ min: 1, max: 20 }), fate: fc.constantFrom('ok', 'retry', 'invalid') }),
      fc.record({ op: fc.constant('refuse' as const), kind: fc.constantFrom(...ITEM_KINDS), invalid: fc.boolean() }),
    );
    fc.assert(
      fc.property(
        fc.array(op, { maxLength: 300 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.integer({ min: 1, max: 50 }),
        (ops, maxBytes, maxItems) => {
          const b = new DeliveryBuffer({ maxBytes, maxItems });
          let n = 0;
          for (const o of ops) {
            if (o.op === 'add') b.add(item(o.kind, n++, o.bytes));
            else if (o.op === 'refuse') b.refuse(o.kind, o.invalid);
            else {
              const batch = b.take(o.n, 1000);
              if (o.fate === 'ok') b.settleDelivered(batch);
              else if (o.fate === 'invalid') b.settleInvalid(batch);
              else b.requeue(batch);
            }
            assert.ok(b.pendingBytes <= maxBytes && b.pending <= maxItems);
            assert.equal(b.recorded, b.delivered + dropped(b) + b.droppedInvalid + b.pending);
          }
          const left = b.pending;
          assert.equal(b.discard(), left);
          assert.equal(b.pending, 0);
          assert.equal(b.pendingBytes, 0);
          assert.equal(b.recorded, b.delivered + dropped(b) + b.droppedInvalid);
        },
      ),
      { numRuns: 300 },
    );
  });
});
