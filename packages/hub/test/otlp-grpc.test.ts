import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { performance } from 'node:perf_hooks';
import * as grpc from '@grpc/grpc-js';
import { ExportLogsServiceRequest, ExportServiceResponse } from '../src/otlp/schema.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';
import { DIALECTS, postgresUnavailable } from './support/stores.js';

/** OTLP/gRPC with a raw @grpc/grpc-js client: the same decoder, limits and authorization as OTLP/HTTP. */

const NS = 1_000_000n;
const LOGS = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function claudeRequest(agentId: string, at: bigint, extraBytes = 0): Buffer {
  const attrs = [
    { key: 'event.name', value: { stringValue: 'api_request' } },
    { key: 'model', value: { stringValue: 'claude-sonnet-4-5' } },
    { key: 'input_tokens', value: { intValue: 40 } },
    { key: 'output_tokens', value: { intValue: 2 } },
    { key: 'cost_usd', value: { doubleValue: 0.25 } },
    ...(extraBytes > 0 ? [{ key: 'padding', value: { stringValue: 'x'.repeat(extraBytes) } }] : []),
  ];
  const body = {
    resourceLogs: [
      {
        resource: {
          attributes: [
            { key: 'service.name', value: { stringValue: 'claude-code' } },
            { key: 'vigil.agent_id', value: { stringValue: agentId } },
          ],
        },
        scopeLogs: [{ logRecords: [{ timeUnixNano: String(at), body: { stringValue: 'claude_code.api_request' }, attributes: attrs }] }],
      },
    ],
  };
  return Buffer.from(ExportLogsServiceRequest.encode(ExportLogsServiceRequest.fromObject(body)).finish());
}

function exportLogs(client: grpc.Client, body: Buffer, token: string | null): Promise<{ err: grpc.ServiceError | null; res?: Buffer }> {
  const metadata = new grpc.Metadata();
  if (token !== null) metadata.set('authorization', `Bearer ${token}`);
  return new Promise((resolve) => {
    client.makeUnaryRequest(
      LOGS,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      metadata,
      (err, res) => resolve({ err, ...(res ? { res } : {}) }),
    );
  });
}

for (const dialect of DIALECTS) {
  describe(`OTLP/gRPC on ${dialect}`, async () => {
    const skip = dialect === 'postgres' ? await postgresUnavailable() : undefined;
    let hub: TestHub;
    let client: grpc.Client;
    before(async () => {
      if (skip) return;
      const port = await freePort();
      hub = await startTestHub(dialect, {
        flags: ['--otlp-grpc-port', String(port), '--otlp-body-limit', '65536', '--key-rate-limit', '2'],
      });
      assert.equal(hub.otlpGrpcPort, port);
      client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2 });
    });
    after(async () => {
      if (skip) return;
      client.close();
      await hub.close();
    });

    test('Export stores the call (gzip-compressed message); a retry is stored once', { skip }, async () => {
      const body = claudeRequest(`grpc-${dialect}`, BigInt(hub.clock.now()) * NS);
      for (let i = 0; i < 2; i++) {
        const { err, res } = await exportLogs(client, body, ADMIN_TOKEN);
        assert.equal(err, null);
        assert.equal((ExportServiceResponse.decode(res as Buffer) as unknown as { partialSuccess: unknown }).partialSuccess ?? null, null);
      }
      const traces = (await hub.call('GET', `/api/v1/traces?agent_id=grpc-${dialect}`)).body.traces;
      assert.equal(traces.length, 1);
      assert.equal(traces[0].input_tokens, 40);
    });

    test('UNAUTHENTICATED, PERMISSION_DENIED, INVALID_ARGUMENT, and the size limit', { skip }, async () => {
      const at = BigInt(hub.clock.now()) * NS;
      assert.equal((await exportLogs(client, claudeRequest('x', at), null)).err?.code, grpc.status.UNAUTHENTICATED);
      assert.equal((await exportLogs(client, claudeRequest('x', at), 'not-a-key')).err?.code, grpc.status.UNAUTHENTICATED);
      await hub.call('POST', '/api/v1/agents', { agent_id: `grpc-keyed-${dialect}`, name: 'k', agent_type: 't' });
      const key = (await hub.call('POST', '/api/v1/keys', { agent_id: `grpc-keyed-${dialect}` })).body.key as string;
      assert.equal((await exportLogs(client, claudeRequest('another-agent', at), key)).err?.code, grpc.status.PERMISSION_DENIED);
      assert.equal((await exportLogs(client, Buffer.from([0x0a, 0xff, 0xff]), ADMIN_TOKEN)).err?.code, grpc.status.INVALID_ARGUMENT);
      const tooBig = await exportLogs(client, claudeRequest('big', at, 100_000), ADMIN_TOKEN);
      assert.equal(tooBig.err?.code, grpc.status.RESOURCE_EXHAUSTED, 'grpc-js refuses a message over the limit itself');
      assert.equal((await hub.call('GET', '/api/v1/traces?agent_id=big')).body.traces.length, 0);
    });

    test(
      "a key over its rate limit hears UNAVAILABLE with retry-after, as on HTTP's 429; the admin token is not limited",
      { skip },
      async () => {
        const agentId = `grpc-limited-${dialect}`;
        await hub.call('POST', '/api/v1/agents', { agent_id: agentId, name: 'l', agent_type: 't' });
        const key = (await hub.call('POST', '/api/v1/keys', { agent_id: agentId })).body.key as string;
        const at = BigInt(hub.clock.now()) * NS;
        // --key-rate-limit 2: a burst of 4 requests (the test's clock stands still); then refused at
        // once, not held as on HTTP: a gRPC message is in memory already.
        for (let i = 0; i < 4; i++) assert.equal((await exportLogs(client, claudeRequest(agentId, at + BigInt(i)), key)).err, null);
        const started = performance.now();
        const refused = await exportLogs(client, claudeRequest(agentId, at + 4n), key);
        assert.ok(performance.now() - started < 900, 'not held');
        assert.equal(refused.err?.code, grpc.status.UNAVAILABLE);
        assert.match(refused.err?.details ?? '', /rate limit/);
        assert.deepEqual(refused.err?.metadata.get('retry-after'), ['1']);
        assert.equal((await hub.call('GET', `/api/v1/traces?agent_id=${agentId}`)).body.traces.length, 4);
        for (let i = 0; i < 6; i++)
          assert.equal((await exportLogs(client, claudeRequest(`grpc-admin-${dialect}`, at + BigInt(i)), ADMIN_TOKEN)).err, null);
      },
    );
  });
}
