import { Type, type Static, type TSchema } from 'typebox';
import { AgentId } from './ids.js';

/** Numeric fields of the heartbeat's `resources` dict (docs/seed-requirements.md), watchable as `resources.<field>`. */
export const RESOURCE_ALERT_FIELDS = [
  'cpu_percent',
  'cpu_cores_physical',
  'cpu_cores_available',
  'cpu_load_1min',
  'cpu_load_5min',
  'memory_percent',
  'memory_available_gb',
  'gpu_vram_total_gb',
  'gpu_vram_available_gb',
] as const;

/** Numeric fields of the heartbeat's `metrics` (the agent process, the monitoring API's figures in docs/seed-requirements.md), watchable as `metrics.<field>`. */
export const PROCESS_ALERT_FIELDS = ['memory_mb', 'message_count', 'cpu_percent', 'io_read_bps', 'io_write_bps'] as const;

/**
 * What a rule can watch. The short names are the monitoring API's figures (docs/seed-requirements.md): `cpu_percent` is the agent
 * process's CPU when it reports one, else its host's (as on the agent row); `unresolved_errors` counts
 * the agent's unresolved error groups; `error_rate` counts error reports in the last minute;
 * `offline` is 1 while liveness holds the agent offline for missed heartbeats, else 0; `crashed` is 1
 * while the agent is offline because its command crashed or could not start (`vigil run`), else 0.
 * The LLM spend metrics sum the stored LLM calls received in the rule's last `window_seconds`:
 * `cost_usd` in US dollars, `tokens.<type>` in tokens (`total` is input + output + cache reads +
 * cache writes); per agent, or per pool with `group_by: 'pool'`.
 */
export const ALERT_METRICS = [
  'cpu_percent',
  'memory_mb',
  'memory_percent',
  'gpu_vram_available_gb',
  'unresolved_errors',
  'error_rate',
  'offline',
  'crashed',
  'resources.cpu_percent',
  'resources.cpu_cores_physical',
  'resources.cpu_cores_available',
  'resources.cpu_load_1min',
  'resources.cpu_load_5min',
  'resources.memory_percent',
  'resources.memory_available_gb',
  'resources.gpu_vram_total_gb',
  'resources.gpu_vram_available_gb',
  'resources.gpu_process_vram_gb',
  'resources.net_rx_bps',
  'resources.net_tx_bps',
  'metrics.memory_mb',
  'metrics.message_count',
  'metrics.cpu_percent',
  'metrics.io_read_bps',
  'metrics.io_write_bps',
  'cost_usd',
  'tokens.input',
  'tokens.output',
  'tokens.cache_read',
  'tokens.cache_creation',
  'tokens.total',
] as const;
export type AlertMetric = (typeof ALERT_METRICS)[number];

/** The metrics summed over a sliding window of stored LLM calls; only these take `window_seconds` and `group_by`. */
export const WINDOWED_ALERT_METRICS = [
  'cost_usd',
  'tokens.input',
  'tokens.output',
  'tokens.cache_read',
  'tokens.cache_creation',
  'tokens.total',
] as const satisfies readonly AlertMetric[];
export type WindowedAlertMetric = (typeof WINDOWED_ALERT_METRICS)[number];

export const isWindowedMetric = (metric: string): metric is WindowedAlertMetric =>
  (WINDOWED_ALERT_METRICS as readonly string[]).includes(metric);

/** Whom a windowed rule's alert is about: each agent, or each pool as a whole (one alert per pool). */
export const ALERT_GROUPS = ['agent', 'pool'] as const;
export type AlertGroup = (typeof ALERT_GROUPS)[number];

/** The `agent_id` a pool-wide alert is stored and addressed under (silences included). */
export const poolAlertKey = (pool: string): string => `pool:${pool}`;

/** The longest window a spend rule may sum over. */
export const MAX_ALERT_WINDOW_SECONDS = 7 * 86_400;

export const ALERT_OPS = ['>', '>=', '<', '<='] as const;
export type AlertOp = (typeof ALERT_OPS)[number];

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const ALERT_STATES = ['pending', 'firing', 'resolved'] as const;
export type AlertStateName = (typeof ALERT_STATES)[number];

/** What happened to an alert, as announced on the live feed (`{type: 'alert', change, alert}`). */
export const ALERT_CHANGES = ['pending', 'cancelled', 'firing', 'resolved', 'acknowledged'] as const;
export type AlertChange = (typeof ALERT_CHANGES)[number];

/**
 * Why an alert ended: its value came back, its agent stopped reporting it, its rule changed or went
 * away, or its agent was deleted or its monitoring paused.
 */
export type AlertResolveReason = (typeof ALERT_RESOLVE_REASONS)[number];

const label = Type.String({ minLength: 1, maxLength: 100, pattern: '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' });

/** Which agents a rule watches; every field given must match (an empty scope watches every agent). */
export const AlertScope = Type.Object(
  {
    agent_id: Type.Optional(AgentId),
    pool_name: Type.Optional(label),
    agent_type: Type.Optional(label),
  },
  { additionalProperties: false },
);
export type AlertScope = Static<typeof AlertScope>;

const ruleFields = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  metric: Type.Enum(ALERT_METRICS, { description: 'What the rule watches' }),
  op: Type.Enum(ALERT_OPS),
  threshold: Type.Number({ minimum: -1e15, maximum: 1e15 }),
  for_seconds: Type.Integer({ minimum: 0, maximum: 7 * 86_400, description: 'How long the condition must hold before firing' }),
  severity: Type.Enum(ALERT_SEVERITIES),
  scope: AlertScope,
  enabled: Type.Boolean(),
  hysteresis: Type.Number({
    minimum: 0,
    maximum: 1e15,
    description: 'How far past the threshold the value must come back before a firing alert resolves (default 5 % of |threshold|)',
  }),
  window_seconds: Type.Integer({
    minimum: 1,
    maximum: MAX_ALERT_WINDOW_SECONDS,
    description: 'The sliding window cost_usd and tokens.* sum over (required for those metrics, refused for others)',
  }),
  group_by: Type.Enum(ALERT_GROUPS, { description: "cost_usd and tokens.* only: one alert per agent (default) or per pool ('pool')" }),
};

/** A rule as created through the API, the CLI or the rules file. */
export const AlertRuleInput = Type.Object(
  {
    name: ruleFields.name,
    metric: ruleFields.metric,
    op: ruleFields.op,
    threshold: ruleFields.threshold,
    for_seconds: Type.Optional(ruleFields.for_seconds),
    severity: Type.Optional(ruleFields.severity),
    scope: Type.Optional(ruleFields.scope),
    enabled: Type.Optional(ruleFields.enabled),
    hysteresis: Type.Optional(ruleFields.hysteresis),
    window_seconds: Type.Optional(ruleFields.window_seconds),
    group_by: Type.Optional(ruleFields.group_by),
  },
  { additionalProperties: false },
);
export type AlertRuleInput = Static<typeof AlertRuleInput>;

/** A partial update of a rule; `hysteresis: null` goes back to the default margin. */
export const AlertRulePatch = Type.Object(
  {
    name: Type.Optional(ruleFields.name),
    metric: Type.Optional(ruleFields.metric),
    op: Type.Optional(ruleFields.op),
    threshold: Type.Optional(ruleFields.threshold),
    for_seconds: Type.Optional(ruleFields.for_seconds),
    severity: Type.Optional(ruleFields.severity),
    scope: Type.Optional(ruleFields.scope),
    enabled: Type.Optional(ruleFields.enabled),
    hysteresis: Type.Optional(Type.Union([ruleFields.hysteresis, Type.Null()])),
    window_seconds: Type.Optional(Type.Union([ruleFields.window_seconds, Type.Null()])),
    group_by: Type.Optional(Type.Union([ruleFields.group_by, Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type AlertRulePatch = Static<typeof AlertRulePatch>;

const nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

/** A stored rule. */
export const AlertRuleView = Type.Object(
  {
    id: Type.Integer(),
    name: Type.String(),
    metric: Type.Enum(ALERT_METRICS),
    op: Type.Enum(ALERT_OPS),
    threshold: Type.Number(),
    for_seconds: Type.Number(),
    hysteresis: nullable(Type.Number({ description: 'Null: the default margin, 5 % of |threshold|' })),
    severity: Type.Enum(ALERT_SEVERITIES),
    scope: AlertScope,
    enabled: Type.Boolean(),
    window_seconds: nullable(Type.Number({ description: 'The sliding window of a cost_usd/tokens.* rule; null for other metrics' })),
    group_by: nullable(Type.Enum(ALERT_GROUPS, { description: 'Whom a cost_usd/tokens.* rule alerts on; null for other metrics' })),
    source: Type.Enum(['default', 'api', 'cli', 'file'], {
      description: 'Where the rule came from: shipped with the schema, the API, the CLI, or the --alert-rules file',
    }),
    created_at: Type.Number(),
    updated_at: Type.Number(),
  },
  { additionalProperties: false },
);
export type AlertRule = Static<typeof AlertRuleView>;

export const ALERT_RESOLVE_REASONS = ['recovered', 'no_data', 'rule_changed', 'rule_deleted', 'agent_deleted', 'agent_paused'] as const;

/** One alert of one rule on one agent: pending, then firing, then resolved (history is kept). */
export const AlertView = Type.Object(
  {
    id: Type.Integer(),
    rule_id: Type.Integer(),
    rule_name: Type.String({ description: 'The rule when the alert began (the rule may change later)' }),
    agent_id: Type.String({ description: "The agent, or pool:<name> for a pool-wide alert (a rule with group_by: 'pool')" }),
    state: Type.Enum(ALERT_STATES),
    severity: Type.Enum(ALERT_SEVERITIES),
    metric: Type.Enum(ALERT_METRICS),
    op: Type.Enum(ALERT_OPS),
    threshold: Type.Number(),
    pending_since: Type.Number({ description: 'When the condition first held' }),
    started_at: nullable(Type.Number({ description: 'When it fired (null while pending)' })),
    resolved_at: nullable(Type.Number()),
    resolve_reason: nullable(Type.Enum(ALERT_RESOLVE_REASONS)),
    value: nullable(Type.Number({ description: 'The value when it fired' })),
    peak_value: nullable(Type.Number({ description: 'The worst value seen: the highest for > and >= rules, the lowest for < and <=' })),
    last_value: nullable(Type.Number({ description: 'The latest value seen' })),
    acknowledged_at: nullable(Type.Number()),
    notified_at: nullable(Type.Number({ description: 'When people were last told (null: never, e.g. while silenced)' })),
    message: Type.String({ description: 'One sentence for people, e.g. cpu_percent is 91.5 (> 80 for 120 s) on agent gpu-box-1' }),
  },
  { additionalProperties: false },
);
export type Alert = Static<typeof AlertView>;

/**
 * What the schema alone cannot say about a rule's window, as one sentence naming the field
 * (`rule.window_seconds …`); undefined when nothing is wrong. A spend metric needs a window; the
 * others take neither a window nor a grouping.
 */
export function ruleWindowProblem(rule: {
  metric: string;
  window_seconds?: number | null;
  group_by?: AlertGroup | null;
}): string | undefined {
  const windowed = isWindowedMetric(rule.metric);
  if (windowed && (rule.window_seconds === undefined || rule.window_seconds === null)) {
    return `rule.window_seconds is required for metric ${rule.metric}`;
  }
  if (!windowed && rule.window_seconds !== undefined && rule.window_seconds !== null) {
    return `rule.window_seconds applies only to the metrics ${WINDOWED_ALERT_METRICS.join(', ')}`;
  }
  if (!windowed && rule.group_by !== undefined && rule.group_by !== null && rule.group_by !== 'agent') {
    return `rule.group_by applies only to the metrics ${WINDOWED_ALERT_METRICS.join(', ')}`;
  }
  return undefined;
}
