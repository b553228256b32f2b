import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { startTestHub, type TestHub } from './support/hub.js';

/**
 * Requests Node refuses before Fastify sees them (the fuzzing pass of docs/reliability.md P1 found them
 * answered in Fastify's own shape): they get `{error: {code, message}}` and `Connection: close`.
 */

interface RawAnswer {
  status: number;
  headers: Map<string, string>;
  body: any;
  /** Every byte the hub sent before closing. */
  raw: string;
}

/**
 * Writes each of `parts` on one fresh TCP connection, the next once an answer to the previous one
 * has arrived, and reads until the hub closes it.
 */
function rawExchange(url: string, ...parts: (string | Buffer)[]): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the hub did not close the connection within 10 s'));
    }, 10_000);
    const next = () => {
      const part = parts.shift();
      if (part !== undefined) socket.write(part);
    };
    socket.on('connect', next);
    socket.on('data', (c: Buffer) => {
      chunks.push(c);
      next();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseLast(Buffer.concat(chunks).toString('utf8')));
    });
  });
}

/** Parses the last HTTP response in `raw` (earlier ones belong to earlier requests on the connection). */
function parseLast(raw: string): RawAnswer {
  const start = [...raw.matchAll(/HTTP\/1\.1 \d{3} /g)].at(-1)?.index;
  assert.ok(start !== undefined, `no HTTP answer in ${JSON.stringify(raw)}`);
  const text = raw.slice(start);
  const split = text.indexOf('\r\n\r\n');
  const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
  const headers = new Map(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  const body = text.slice(split + 4);
  assert.equal(Buffer.byteLength(body), Number(headers.get('content-length')), 'Content-Length matches the body');
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body), raw };
}

describe('node-level refusals keep the error shape', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub('sqlite', { flags: ['--host-metrics-interval', '0'] });
  });
  after(async () => {
    await hub.close();
  });

  function assertRefusal(answer: RawAnswer, status: number, code: string): void {
    assert.equal(answer.status, status, answer.raw);
    assert.equal(answer.headers.get('connection'), 'close');
    assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(answer.body.error.code, code);
    assert.equal(typeof answer.body.error.message, 'string');
    assert.deepEqual(Object.keys(answer.body), ['error']);
  }

  test('a request line that is not HTTP answers 400 VIGIL_MALFORMED_REQUEST', async () => {
    for (const garbage of [
      'GARBAGE\r\n\r\n',
      'GET / HTTP/9.9\r\n\r\n',
      'G\u0000T / HTTP/1.1\r\n\r\n',
      '\u0016\u0003\u0001\u0000\u00a5\u0001\u0000',
    ]) {
      const answer = await rawExchange(hub.url, Buffer.from(garbage, 'latin1'));
      assertRefusal(answer, 400, 'VIGIL_MALFORMED_REQUEST');
      assert.match(answer.body.error.message, /^The request is not valid HTTP\/1\.1 \(HPE_[A-Z_]+/);
    }
  });

  test('a malformed header answers 400 with the shape', async () => {
    const answer = await rawExchange(hub.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n');
    assertRefusal(answer, 400, 'VIGIL_MALFORMED_REQUEST');
  });

  test('headers over the limit answer 431 VIGIL_HEADERS_TOO_LARGE', async () => {
    const answer = await rawExchange(hub.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    assertRefusal(answer, 431, 'VIGIL_HEADERS_TOO_LARGE');
  });

  test('a bad request after a good one on the same connection leaves the first answer whole', async () => {
    const answer = await rawExchange(hub.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 'NOT HTTP AT ALL\r\n\r\n');
    assert.match(answer.raw, /^HTTP\/1\.1 200 /);
    assert.match(answer.raw, /"status":"ok"/);
    assertRefusal(answer, 400, 'VIGIL_MALFORMED_REQUEST');
  });

  test('the hub still serves after the refusals', async () => {
    assert.equal((await hub.call('GET', '/healthz')).status, 200);
  });
});
