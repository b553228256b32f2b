import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { systemClock } from '../src/clock.js';
import { ADMIN_TOKEN, startTestHub, type TestHub } from './support/hub.js';
import { VIGIL } from './support/cli.js';

/**
 * `vigil run` points its child's OpenTelemetry export at the hub (docs/otlp.md): the child here
 * stands in for Claude Code, reads the variables it was given and exports one `api_request` event
 * with them, as Claude Code's exporter would.
 */

const exec = promisify(execFile);

/** A child that prints the telemetry variables, then posts one Claude Code event the way its exporter is configured. */
const FAKE_CLAUDE = `
const env = process.env;
const pick = Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('OTEL_') || k.startsWith('CLAUDE_CODE_')));
console.log(JSON.stringify(pick));
const header = decodeURIComponent(env.OTEL_EXPORTER_OTLP_HEADERS.split('=').slice(1).join('='));
const resource = env.OTEL_RESOURCE_ATTRIBUTES.split(',').map((kv) => { const [key, value] = kv.split('='); return { key, value: { stringValue: value } }; });
const attr = (key, value) => ({ key, value: typeof value === 'number' ? { intValue: value } : { stringValue: value } });
const body = { resourceLogs: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'claude-code' } }, ...resource] },
  scopeLogs: [{ logRecords: [{ timeUnixNano: String(BigInt(Date.now()) * 1000000n), body: { stringValue: 'claude_code.api_request' },
    attributes: [attr('event.name', 'api_request'), attr('model', 'claude-sonnet-4-5'), attr('input_tokens', 10), attr('output_tokens', 5), attr('cost_usd', '0.0042')] }] }] }] };
fetch(env.OTEL_EXPORTER_OTLP_ENDPOINT + '/v1/logs', { method: 'POST', headers: { authorization: header, 'content-type': 'application/json' }, body: JSON.stringify(body) })
  .then((r) => { if (r.status !== 200) { console.error('export answered ' + r.status); process.exit(3); } });
`;

async function vigilRun(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [VIGIL, 'run', ...args, '--', process.execPath, '-e', FAKE_CLAUDE], {
      env: { PATH: process.env.PATH, ...env },
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('vigil run sets up the child telemetry', () => {
  let hub: TestHub;
  before(async () => {
    hub = await startTestHub('sqlite', { clock: systemClock });
  });
  after(() => hub.close());

  test('with the admin token: an agent key (never the token) reaches the child, its calls land on the agent, the key is revoked after', async () => {
    const r = await vigilRun(
      ['--url', hub.url, '--key', ADMIN_TOKEN, '--agent-id', 'run-claude', '--interval', '7', '--flush-timeout', '5'],
      {
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_RESOURCE_ATTRIBUTES: 'team=blue',
      },
    );
    assert.equal(r.code, 0, r.stderr);
    const env = JSON.parse(r.stdout.trim().split('\n')[0] as string) as Record<string, string>;
    assert.equal(env.CLAUDE_CODE_ENABLE_TELEMETRY, '1');
    assert.equal(env.OTEL_METRICS_EXPORTER, 'none', 'a variable the user set is left alone');
    assert.equal(env.OTEL_LOGS_EXPORTER, 'otlp');
    assert.equal(env.OTEL_EXPORTER_OTLP_PROTOCOL, 'http/protobuf');
    assert.equal(env.OTEL_EXPORTER_OTLP_ENDPOINT, hub.url);
    assert.equal(env.OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE, 'cumulative');
    assert.equal(env.OTEL_METRIC_EXPORT_INTERVAL, '7000', 'the export interval is the heartbeat');
    assert.equal(env.OTEL_RESOURCE_ATTRIBUTES, 'team=blue,vigil.agent_id=run-claude');
    assert.match(env.OTEL_EXPORTER_OTLP_HEADERS ?? '', /^Authorization=Bearer%20vgl_/);
    assert.ok(!(env.OTEL_EXPORTER_OTLP_HEADERS ?? '').includes(ADMIN_TOKEN), 'the admin token never reaches the child');
    assert.match(r.stderr, /agent key for run-claude was created/);

    const agent = (await hub.call('GET', '/api/v1/agents/run-claude')).body.agent;
    assert.equal(typeof agent.metadata.otel_export_since, 'number', 'the hub knows telemetry is expected');
    assert.equal(agent.telemetry_silent, null);
    const traces = (await hub.call('GET', '/api/v1/traces?agent_id=run-claude')).body.traces;
    assert.equal(traces.length, 1);
    assert.equal(traces[0].cost_usd, 0.0042);
    const keys = (await hub.call('GET', '/api/v1/keys')).body.keys as { scope_value: string; revoked_at: number | null }[];
    const minted = keys.filter((k) => k.scope_value === 'run-claude');
    assert.equal(minted.length, 1);
    assert.notEqual(minted[0]?.revoked_at, null, 'revoked once the command ended');
  });

  test('with an agent key: passed on as it is; --no-telemetry leaves the environment alone', async () => {
    const key = (await hub.call('POST', '/api/v1/keys', { agent_id: 'run-keyed' })).body.key as string;
    const r = await vigilRun(['--url', hub.url, '--key', key, '--agent-id', 'run-keyed', '--flush-timeout', '5']);
    assert.equal(r.code, 0, r.stderr);
    const env = JSON.parse(r.stdout.trim().split('\n')[0] as string) as Record<string, string>;
    assert.equal(env.OTEL_EXPORTER_OTLP_HEADERS, `Authorization=Bearer%20${key}`);
    assert.equal((await hub.call('GET', '/api/v1/traces?agent_id=run-keyed')).body.traces.length, 1);

    const off = await vigilRun(['--url', hub.url, '--key', key, '--agent-id', 'run-keyed', '--no-telemetry', '--flush-timeout', '5']);
    assert.notEqual(off.code, 0, 'the fake exporter finds no endpoint');
    assert.equal(off.stdout.trim().split('\n')[0], '{}');
  });
});
