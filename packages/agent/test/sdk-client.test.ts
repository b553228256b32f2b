import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { VigilClient, type VigilClientError, type VigilClientOptions } from '../src/sdk/index.js';

/** The client's promises to its host that need no hub; delivery is tested against a real one in packages/hub/test/sdk.test.ts. */

// Nothing listens on port 9 (discard) on a test machine; no test here starts the client anyway.
const base: VigilClientOptions = { url: 'http://127.0.0.1:9', key: 'k', name: 'unit', agentType: 'code', collect: () => ({}) };

describe('SDK client without a hub', () => {
  test('a configuration mistake is a TypeError at construction', () => {
    for (const bad of [
      { url: 'not a url' },
      { url: 'ftp://hub.example' },
      { interval: 0 },
      { interval: 7_200_000 },
      { requestTimeoutMs: -1 },
      { requestTimeoutMs: 2 ** 40 },
      { maxBufferBytes: NaN },
      { flushDelayMs: -5 },
    ]) {
      assert.throws(() => new VigilClient({ ...base, ...bad }), TypeError, JSON.stringify(bad));
    }
    assert.doesNotThrow(() => new VigilClient({ ...base, key: '', interval: undefined }));
  });

  test('recording never throws into the host, whatever it is given, and counts what it refuses', async () => {
    const errors: VigilClientError[] = [];
    const client = new VigilClient({
      ...base,
      onError: (e) => {
        errors.push(e);
        throw new Error('a broken callback');
      },
    });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    client.event('info', 'circular', circular);
    client.event('bogus' as never, 'not an event type');
    client.error(undefined);
    client.error(Object.create(null));
    client.trace(null as never);
    client.countMessages(-1);
    client.setStatus('gone' as never);
    const s = client.stats();
    assert.equal(s.droppedInvalid, 2);
    assert.equal(s.queued, 2, 'the two errors are queued');
    assert.deepEqual(
      errors.map((e) => e.code),
      ['invalid_items', 'invalid_items', 'internal'],
    );
    assert.equal(await client.close(), 2, 'never started: the queued reports are not delivered');
  });

  test('reports recorded after close are counted as dropped; close is idempotent', async () => {
    const client = new VigilClient(base);
    client.event('info', 'before');
    const first = client.close({ timeoutMs: 0 });
    assert.equal(client.close(), first);
    assert.equal(await first, 1);
    client.event('info', 'after');
    client.start();
    const s = client.stats();
    assert.equal(s.recorded, 2);
    assert.equal(s.dropped, 2);
    assert.equal(s.queued, 0);
  });
});
