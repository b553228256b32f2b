import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { MAX_JSON_FIELD_BYTES } from '@vigil/protocol';
import { PAGE_BYTES } from '../src/api/paging.js';
import { PREVIEW_CHARS } from '../src/store/previews.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

/**
 * The read-amplification attack of issue 9 (finding 3): a write-only agent key stores items as big
 * as it may, and the dashboard's list pages read them back. Writes past the byte limits are refused
 * with a 413 naming the field and store nothing; list answers cut heavy fields and stop at a byte
 * budget whatever the rows hold (rows written before the limits included); the item routes give the
 * whole value. Real HTTP, both dialects.
 */

const AGENT = 'amp-1';
/** The page budget plus room for the answer's envelope. */
const PAGE_CEILING = PAGE_BYTES + 16 * 1024;

/** A JSON object of exactly `bytes` bytes as compact JSON, made of `unit` (1–3 UTF-8 bytes). */
function jsonOfBytes(bytes: number, unit = 'x'): Record<string, string> {
  const overhead = Buffer.byteLength(JSON.stringify({ blob: '' }));
  const per = Buffer.byteLength(unit);
  const value = { blob: unit.repeat(Math.floor((bytes - overhead) / per)) };
  value.blob += 'x'.repeat(bytes - Buffer.byteLength(JSON.stringify(value)));
  assert.equal(Buffer.byteLength(JSON.stringify(value)), bytes);
  return value;
}

/** GET over real HTTP, answering the raw size of the body as well as the parsed body. */
async function getRaw(hub: TestHub, path: string): Promise<{ status: number; bytes: number; body: any }> {
  const res = await request(`${hub.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const buf = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, bytes: buf.length, body: JSON.parse(buf.toString('utf8')) };
}

async function count(hub: TestHub, table: string): Promise<number> {
  return Number((await hub.db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table} WHERE agent_id = ?`, [AGENT]))?.n);
}

/** Every page of a list, following next_cursor; checks each page's size on the way. */
async function allPages(hub: TestHub, list: 'events' | 'errors' | 'traces', query = ''): Promise<{ items: any[]; pages: number }> {
  const items: any[] = [];
  let cursor: number | null = null;
  let pages = 0;
  do {
    const r = await getRaw(hub, `/api/v1/${list}?limit=500${query}${cursor === null ? '' : `&before=${cursor}`}`);
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
    assert.ok(r.bytes <= PAGE_CEILING, `${list} page ${pages} is ${r.bytes} bytes, over ${PAGE_CEILING}`);
    assert.equal(typeof r.body.bytes_limited, 'boolean');
    if (r.body.bytes_limited) assert.notEqual(r.body.next_cursor, null, 'a page cut for size says where to continue');
    items.push(...r.body[list]);
    cursor = r.body.next_cursor;
    pages++;
  } while (cursor !== null);
  return { items, pages };
}

for (const dialect of DIALECTS) {
  describe(`read amplification: bytes are bounded on write and on read (${dialect})`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    let hub: TestHub;
    let key: string;

    before(async () => {
      if (skip) return;
      hub = await startTestHub(dialect);
      assert.equal((await hub.call('POST', '/api/v1/agents', { agent_id: AGENT, name: 'amp', agent_type: 'code' })).status, 201);
      const created = await hub.call('POST', '/api/v1/keys', { agent_id: AGENT });
      assert.equal(created.status, 201);
      key = created.body.key;
    });
    after(async () => {
      if (!skip) await hub.close();
    });

    test(
      'a JSON field at the limit is stored; one byte over is a 413 naming the field and the limit, and stores nothing',
      { skip },
      async () => {
        const atLimit = jsonOfBytes(MAX_JSON_FIELD_BYTES);
        const over = jsonOfBytes(MAX_JSON_FIELD_BYTES + 1);
        // Counted in bytes, not characters: 2-byte characters under the character count are still over.
        const overInBytes = jsonOfBytes(MAX_JSON_FIELD_BYTES + 2, 'é');
        assert.ok(JSON.stringify(overInBytes).length < MAX_JSON_FIELD_BYTES);

        const writes: { table: string; path: string; field: string; body: (m: object) => object; ok: number }[] = [
          {
            table: 'agent_events',
            path: `/api/v1/agents/${AGENT}/events`,
            field: 'metadata',
            ok: 201,
            body: (m) => ({ event_type: 'info', metadata: m }),
          },
          {
            table: 'error_logs',
            path: `/api/v1/agents/${AGENT}/errors`,
            field: 'metadata',
            ok: 201,
            body: (m) => ({ error_type: 'E', message: `limit ${Math.random()}`, metadata: m }),
          },
          {
            table: 'llm_traces',
            path: `/api/v1/agents/${AGENT}/traces`,
            field: 'attributes',
            ok: 201,
            body: (m) => ({ model: 'm', attributes: m }),
          },
          {
            table: 'agent_events',
            path: `/api/monitoring/agents/${AGENT}/events`,
            field: 'metadata',
            ok: 201,
            body: (m) => ({ eventType: 'info', metadata: m }),
          },
          {
            table: 'error_logs',
            path: `/api/monitoring/agents/${AGENT}/errors`,
            field: 'metadata',
            ok: 201,
            body: (m) => ({ error: { message: `seed ${Math.random()}` }, metadata: m }),
          },
          {
            table: 'agents',
            path: '/api/v1/agents',
            field: 'metadata',
            ok: 200,
            body: (m) => ({ agent_id: AGENT, name: 'amp', agent_type: 'code', metadata: m }),
          },
        ];
        for (const w of writes) {
          const fits = await hub.call('POST', w.path, w.body(atLimit), key);
          assert.equal(fits.status, w.ok, `${w.path} at the limit: ${JSON.stringify(fits.body).slice(0, 200)}`);
          for (const big of [over, overInBytes]) {
            const rowsBefore = await count(hub, w.table);
            const refused = await hub.call('POST', w.path, w.body(big), key);
            assert.equal(refused.status, 413, `${w.path} over the limit: ${refused.status}`);
            assert.equal(refused.body.error.code, 'VIGIL_FIELD_TOO_LARGE');
            assert.equal(
              refused.body.error.message,
              `body.${w.field} is ${MAX_JSON_FIELD_BYTES + (big === over ? 1 : 2)} bytes as JSON; the limit is ${MAX_JSON_FIELD_BYTES}`,
            );
            assert.equal(await count(hub, w.table), rowsBefore, `${w.path}: nothing stored`);
          }
        }
        const agent = await hub.call('GET', `/api/v1/agents/${AGENT}`);
        assert.deepEqual(agent.body.agent.metadata, atLimit, 'the refused registration left the stored metadata alone');

        // In a batch, the oversized item alone is refused; its batch-mates are stored.
        const eventsBefore = await count(hub, 'agent_events');
        const batch = await hub.call(
          'POST',
          '/api/v1/ingest',
          {
            events: [
              { agent_id: AGENT, event_type: 'info', message: 'fits' },
              { agent_id: AGENT, event_type: 'info', metadata: over },
            ],
            errors: [{ agent_id: AGENT, error_type: 'E', message: 'batch error', metadata: over }],
            traces: [{ agent_id: AGENT, model: 'm', attributes: over }],
          },
          key,
        );
        assert.equal(batch.status, 207, JSON.stringify(batch.body));
        assert.deepEqual(
          batch.body.rejected.map((r: { kind: string; index: number; code: string }) => [r.kind, r.index, r.code]),
          [
            ['errors', 0, 'VIGIL_FIELD_TOO_LARGE'],
            ['events', 1, 'VIGIL_FIELD_TOO_LARGE'],
            ['traces', 0, 'VIGIL_FIELD_TOO_LARGE'],
          ],
        );
        assert.match(batch.body.rejected[1].message, new RegExp(`^body\\.events\\[1\\]\\.metadata is ${MAX_JSON_FIELD_BYTES + 1} bytes`));
        assert.equal(batch.body.accepted.events, 1);
        assert.equal(await count(hub, 'agent_events'), eventsBefore + 1);
      },
    );

    test('the attack: items at every limit, and legacy megabyte rows, read back in bounded pages', { skip }, async () => {
      const meta = jsonOfBytes(MAX_JSON_FIELD_BYTES);
      // 4-byte characters: the longest text the character limits allow, in bytes.
      const message = '\u{1F600}'.repeat(8192);
      const stack = '\u{1F600}'.repeat(65536);
      const chars = (s: string | null | undefined) => [...(s ?? '')].length;
      // 300 events and traces and 200 errors at the limits, written with the agent's own key, in
      // batches under the 4 MiB ingest limit.
      for (let b = 0; b < 15; b++) {
        const r = await hub.call(
          'POST',
          '/api/v1/ingest',
          {
            events: Array.from({ length: 20 }, (_, i) => ({
              agent_id: AGENT,
              event_type: 'info',
              message,
              metadata: meta,
              event_id: `ev-${b}-${i}`,
            })),
            traces: Array.from({ length: 20 }, (_, i) => ({
              agent_id: AGENT,
              model: 'm',
              error: message,
              attributes: meta,
              event_id: `tr-${b}-${i}`,
            })),
          },
          key,
        );
        assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
      }
      for (let b = 0; b < 20; b++) {
        const errors = Array.from({ length: 10 }, (_, i) => ({
          agent_id: AGENT,
          error_type: `E${b}-${i}`,
          message,
          stack_trace: stack,
          metadata: meta,
        }));
        const r = await hub.call('POST', '/api/v1/ingest', { errors }, key);
        assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
      }
      // Rows written before the limits existed: a megabyte of metadata each, straight into the store.
      const legacy = JSON.stringify(jsonOfBytes(1024 * 1024));
      for (let i = 0; i < 20; i++) {
        await hub.db.run(
          'INSERT INTO agent_events (agent_id, event_type, message, metadata, timestamp, received_at) VALUES (?, ?, ?, ?, ?, ?)',
          [AGENT, 'info', 'legacy', legacy, Date.now(), Date.now()],
        );
      }
      await hub.db.run('UPDATE agents SET metadata = ? WHERE agent_id = ?', [legacy, AGENT]);

      const events = await allPages(hub, 'events', `&agent_id=${AGENT}`);
      assert.equal(events.items.length, await count(hub, 'agent_events'), 'every event is reached through the cursor');
      assert.equal(new Set(events.items.map((e) => e.id)).size, events.items.length, 'no event twice');
      assert.ok(events.pages > 1, `the byte budget split the events (${events.pages} pages)`);
      for (const e of events.items) {
        assert.ok(chars(e.message) <= PREVIEW_CHARS);
        if (e.message === 'legacy' || chars(e.message) === PREVIEW_CHARS) {
          assert.deepEqual(e.truncated?.includes('metadata'), true, `event ${e.id} says its metadata was cut`);
          assert.deepEqual(e.metadata, {});
        }
      }
      const bigEvent = events.items.find((e) => chars(e.message) === PREVIEW_CHARS);
      assert.deepEqual(bigEvent.truncated, ['message', 'metadata']);
      assert.ok(message.startsWith(bigEvent.message), 'the preview is the start of the message');
      const whole = await hub.call('GET', `/api/v1/events/${bigEvent.id}`);
      assert.equal(whole.status, 200);
      assert.equal(whole.body.event.message, message, 'the item route has the whole message');
      assert.deepEqual(whole.body.event.metadata, meta, 'and the whole metadata');
      assert.equal(whole.body.event.truncated, undefined);

      const errors = await allPages(hub, 'errors', `&agent_id=${AGENT}`);
      assert.equal(errors.items.length, await count(hub, 'error_logs'));
      assert.ok(errors.pages > 1, `the byte budget split the errors (${errors.pages} pages)`);
      const bigError = errors.items.find((e) => chars(e.stack_trace) === PREVIEW_CHARS);
      assert.deepEqual(bigError.truncated, ['message', 'stack_trace', 'metadata']);
      const wholeError = await hub.call('GET', `/api/v1/errors/${bigError.id}`);
      assert.equal(wholeError.body.error.stack_trace, stack);
      assert.deepEqual(wholeError.body.error.metadata, meta);

      const traces = await allPages(hub, 'traces', `&agent_id=${AGENT}`);
      assert.equal(traces.items.length, await count(hub, 'llm_traces'));
      assert.ok(traces.pages > 1, `the byte budget split the traces (${traces.pages} pages)`);
      const bigTrace = traces.items.find((t) => chars(t.error) === PREVIEW_CHARS);
      assert.deepEqual(bigTrace.truncated, ['error', 'attributes']);
      const wholeTrace = await hub.call('GET', `/api/v1/traces/${bigTrace.id}`);
      assert.equal(wholeTrace.body.trace.error, message);
      assert.deepEqual(wholeTrace.body.trace.attributes, meta);

      for (const [path, code] of [
        ['/api/v1/events/999999999', 'VIGIL_EVENT_NOT_FOUND'],
        ['/api/v1/errors/999999999', 'VIGIL_ERROR_NOT_FOUND'],
        ['/api/v1/traces/999999999', 'VIGIL_TRACE_NOT_FOUND'],
      ] as const) {
        const r = await hub.call('GET', path);
        assert.equal(r.status, 404);
        assert.equal(r.body.error.code, code);
      }
      // Item routes read the whole fleet's data: the agent's key may not.
      assert.equal((await hub.call('GET', `/api/v1/events/${bigEvent.id}`, undefined, key)).status, 403);

      // The agent lists and the dashboard pages carry the agent without its megabyte of metadata.
      for (const path of ['/api/v1/agents', '/api/monitoring/dashboard', '/api/v1/capacity', `/api/monitoring/agents/${AGENT}`]) {
        const r = await getRaw(hub, path);
        assert.equal(r.status, 200, path);
        assert.ok(r.bytes <= PAGE_CEILING, `${path}: ${r.bytes} bytes`);
      }
      const listed = (await getRaw(hub, '/api/v1/agents')).body.agents.find((a: { agent_id: string }) => a.agent_id === AGENT);
      assert.deepEqual(listed.truncated, ['metadata']);
      assert.equal(Buffer.byteLength(JSON.stringify((await hub.call('GET', `/api/v1/agents/${AGENT}`)).body.agent.metadata)), 1024 * 1024);

      // Sixteen dashboards loading the first events page at once: the answers are bounded, so is the memory.
      global.gc?.();
      const rssBefore = process.memoryUsage().rss;
      let peak = rssBefore;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
      const loads = await Promise.all(Array.from({ length: 16 }, () => getRaw(hub, `/api/v1/events?limit=500&agent_id=${AGENT}`)));
      clearInterval(sampler);
      peak = Math.max(peak, process.memoryUsage().rss);
      const total = loads.reduce((n, l) => n + l.bytes, 0);
      assert.ok(total <= 16 * PAGE_CEILING, `16 loads returned ${total} bytes`);
      // Before the limits these 16 loads carried ~16 × 20 MiB of legacy metadata alone.
      assert.ok(peak - rssBefore < 160 * 1024 * 1024, `RSS grew ${Math.round((peak - rssBefore) / 1048576)} MiB during 16 loads`);
    });
  });
}
