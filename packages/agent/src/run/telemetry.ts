/**
 * What `vigil run` tells its child so that OpenTelemetry-speaking agents (Claude Code first) send
 * their telemetry to the hub with no other configuration (the hub's docs/otlp.md). Every variable
 * is set only when the user has not set it; `vigil.agent_id` is appended to the resource
 * attributes so the data lands on the agent `vigil run` reports.
 */
export interface TelemetrySetup {
  url: string;
  agentId: string;
  /** An agent key (or a pool key): never the admin token. */
  key: string;
  intervalS: number;
}

export function telemetryEnv(env: NodeJS.ProcessEnv, t: TelemetrySetup): { env: NodeJS.ProcessEnv; set: string[] } {
  const out: NodeJS.ProcessEnv = { ...env };
  const set: string[] = [];
  const define = (name: string, value: string) => {
    if (out[name] !== undefined && out[name] !== '') return;
    out[name] = value;
    set.push(name);
  };
  define('CLAUDE_CODE_ENABLE_TELEMETRY', '1');
  define('OTEL_METRICS_EXPORTER', 'otlp');
  define('OTEL_LOGS_EXPORTER', 'otlp');
  // The JS HTTP exporter retries on 429/503; its gRPC one does not.
  define('OTEL_EXPORTER_OTLP_PROTOCOL', 'http/protobuf');
  define('OTEL_EXPORTER_OTLP_ENDPOINT', t.url);
  // OTEL_EXPORTER_OTLP_HEADERS values are percent-encoded (W3C baggage format): the space is %20.
  define('OTEL_EXPORTER_OTLP_HEADERS', `Authorization=Bearer%20${t.key}`);
  // Cumulative counters survive a lost export; the hub turns them into increases.
  define('OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', 'cumulative');
  define('OTEL_METRIC_EXPORT_INTERVAL', String(t.intervalS * 1000));
  const attrs = out.OTEL_RESOURCE_ATTRIBUTES ?? '';
  if (!/(^|,)\s*vigil\.agent_id=/.test(attrs)) {
    out.OTEL_RESOURCE_ATTRIBUTES = attrs.trim() === '' ? `vigil.agent_id=${t.agentId}` : `${attrs},vigil.agent_id=${t.agentId}`;
    set.push('OTEL_RESOURCE_ATTRIBUTES');
  }
  return { env: out, set };
}

export type TelemetryKey =
  { kind: 'minted'; key: string; keyId: string } | { kind: 'as-given'; key: string } | { kind: 'none'; reason: string };

/**
 * The key the child's exporters send. Holding the admin token, `vigil run` asks the hub for an
 * agent key of its agent (revoked when the command ends), so the admin token never reaches the
 * child's environment; any other key (agent or pool key) is passed as it is. Bounded by `timeoutMs`,
 * so an unreachable hub delays the start by that much at most.
 */
export async function telemetryKey(url: string, key: string, agentId: string, timeoutMs = 3000): Promise<TelemetryKey> {
  try {
    const res = await fetch(`${url}/api/v1/keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agent_id: agentId, name: `vigil run telemetry for ${agentId}`.slice(0, 200) }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status === 201) {
      const body = (await res.json()) as { key?: unknown; key_id?: unknown };
      if (typeof body.key === 'string' && typeof body.key_id === 'string') return { kind: 'minted', key: body.key, keyId: body.key_id };
      return { kind: 'none', reason: 'the hub answered the key request without a key' };
    }
    await res.body?.cancel();
    // 403: not the admin token, so an agent or pool key, which may be handed on.
    if (res.status === 403) return { kind: 'as-given', key };
    return { kind: 'none', reason: `the hub answered ${res.status} to the key request` };
  } catch (err) {
    return { kind: 'none', reason: `the hub did not answer the key request (${(err as Error).message})` };
  }
}

/** Revokes a key minted for the child; best effort, the command has ended already. */
export async function revokeTelemetryKey(url: string, adminKey: string, keyId: string, timeoutMs = 3000): Promise<boolean> {
  try {
    const res = await fetch(`${url}/api/v1/keys/${encodeURIComponent(keyId)}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${adminKey}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}
