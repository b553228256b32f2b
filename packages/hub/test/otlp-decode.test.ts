import assert from 'node:assert/strict';
import { test } from 'node:test';
import { anyValue, asId, keyValues, MAX_ATTRIBUTES, MAX_VALUE_CHARS, OtlpMalformed } from '../src/otlp/attributes.js';
import { decodeRequest } from '../src/otlp/decode.js';
import { ExportTraceServiceRequest } from '../src/otlp/schema.js';

/** The OTLP decoder's readers and limits, on both encodings (docs/otlp.md, Limits). */

test('hostile attribute values are bounded: count, length, depth, U+0000', () => {
  const many = Array.from({ length: 200 }, (_, i) => ({ key: `k${i}`, value: { intValue: i } }));
  const { attrs, dropped } = keyValues(many);
  assert.equal(Object.keys(attrs).length, MAX_ATTRIBUTES);
  assert.equal(dropped, 200 - MAX_ATTRIBUTES);

  assert.equal(anyValue({ stringValue: 'a\u0000b' }), 'ab');
  assert.equal((anyValue({ stringValue: 'x'.repeat(MAX_VALUE_CHARS + 10) }) as string).length, MAX_VALUE_CHARS);

  let deep: unknown = { stringValue: 'leaf' };
  for (let i = 0; i < 10; i++) deep = { arrayValue: { values: [deep] } };
  const flat = anyValue(deep) as unknown[];
  let level: unknown = flat;
  let depth = 0;
  while (Array.isArray(level)) {
    level = level[0];
    depth++;
  }
  assert.equal(typeof level, 'string', 'the deep rest is JSON text');
  assert.ok(depth <= 5, `nested ${depth} levels`);
  assert.match(level as string, /leaf/);
});

test('values keep their type and precision: false, 0, int64 past 2^53, ids', () => {
  assert.equal(anyValue({ boolValue: false }), false);
  assert.equal(anyValue({ intValue: '0' }), 0);
  assert.equal(anyValue({ intValue: '9007199254740993' }), '9007199254740993');
  assert.equal(anyValue({ intValue: { low: 1, high: 2097152, unsigned: false } }), '9007199254740993');
  assert.equal(anyValue({ doubleValue: 'NaN' }), 'NaN');
  assert.equal(asId('00000000000000000000000000000000', 16, 'traceId'), null, 'all-zero ids are invalid');
  assert.equal(asId('abc', 16, 'traceId'), null);
  assert.equal(asId(Buffer.from('0102030405060708', 'hex'), 8, 'spanId'), '0102030405060708');
  assert.throws(() => anyValue({ boolValue: 'yes' }), OtlpMalformed);
});

test('protobuf and JSON give the same spans, nanosecond times exact', () => {
  const json = {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'svc' } }] },
        scopeSpans: [
          {
            scope: { name: 'lib' },
            spans: [
              {
                traceId: '5b8efff798038103d269b633813fc60c',
                spanId: 'eee19b7ec3c1b174',
                name: 'chat',
                startTimeUnixNano: '1733383200123456789',
                endTimeUnixNano: '1733383200623456789',
                attributes: [{ key: 'gen_ai.usage.input_tokens', value: { intValue: '5' } }],
                status: { code: 2, message: 'boom' },
                unknownField: { ignored: true },
              },
            ],
          },
        ],
      },
    ],
  };
  const fromJson = decodeRequest('traces', 'json', Buffer.from(JSON.stringify(json)));
  const pbInput = structuredClone(json) as any;
  const span = pbInput.resourceSpans[0].scopeSpans[0].spans[0];
  span.traceId = Buffer.from(span.traceId, 'hex');
  span.spanId = Buffer.from(span.spanId, 'hex');
  delete span.unknownField;
  const bytes = Buffer.from(ExportTraceServiceRequest.encode(ExportTraceServiceRequest.fromObject(pbInput)).finish());
  const fromPb = decodeRequest('traces', 'protobuf', bytes);
  assert.deepEqual(fromPb, fromJson);
  if (fromJson.signal !== 'traces') throw new Error('unreachable');
  const s = fromJson.resources[0]?.records[0];
  assert.equal(s?.startNs, 1733383200123456789n);
  assert.equal(s?.traceId, '5b8efff798038103d269b633813fc60c');
  assert.equal(s?.attributes['gen_ai.usage.input_tokens'], 5);
  assert.equal(s?.statusCode, 2);
  assert.equal(s?.scope, 'lib');
});
