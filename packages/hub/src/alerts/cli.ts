import type { AlertRule, AlertRuleInput } from '@vigil/protocol';
import { ConfigError, parseCommandLine, settingsHelp, STORE_SETTINGS } from '../config/config.js';
import { deleteRule, getRule, insertRule, listRules } from '../store/alert-rules.js';
import { openStore } from '../store/open.js';
import { ruleProblem } from './rules-file.js';

export const ALERTS_USAGE = `vigil alerts rules list [--json] [options]
vigil alerts rules add --name TEXT --metric METRIC --op OP --threshold N [--for SECONDS]
                       [--severity info|warning|critical] [--agent ID] [--pool NAME] [--type TYPE]
                       [--hysteresis N] [--window SECONDS] [--group-by agent|pool] [--disabled] [options]
vigil alerts rules rm ID|NAME [options]

cost_usd and tokens.input|output|cache_read|cache_creation|total sum the LLM calls of the last
--window seconds, per agent or (--group-by pool) per pool.
Rules written here take effect in a running hub within its alert timer (5 s).
These commands work on the database, found by these options (flag, environment variable, meaning):
${settingsHelp(STORE_SETTINGS)}
`;

const RULE_FLAGS = {
  name: { type: 'string' },
  metric: { type: 'string' },
  op: { type: 'string' },
  threshold: { type: 'string' },
  for: { type: 'string' },
  severity: { type: 'string' },
  agent: { type: 'string' },
  pool: { type: 'string' },
  type: { type: 'string' },
  hysteresis: { type: 'string' },
  window: { type: 'string' },
  'group-by': { type: 'string' },
  disabled: { type: 'boolean' },
  json: { type: 'boolean' },
} as const;

/** `vigil alerts rules …`: manages rules in the store directly, as `vigil keys` does with keys. */
export async function alertsCommand(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  out: NodeJS.WritableStream,
  cwd = process.cwd(),
): Promise<number> {
  const { values, positionals, config } = parseCommandLine(
    argv,
    env,
    { command: 'alerts', settings: STORE_SETTINGS, options: RULE_FLAGS, positionals: 3 },
    cwd,
  );
  const [group, sub, which] = positionals;
  if (group !== 'rules' || sub === undefined) throw new ConfigError(`usage:\n${ALERTS_USAGE}`);
  if (sub !== 'list' && sub !== 'add' && sub !== 'rm')
    throw new ConfigError(`unknown alerts rules command ${JSON.stringify(sub)}: use list, add or rm`);
  if (which !== undefined && sub !== 'rm') throw new ConfigError(`unexpected argument ${JSON.stringify(which)} (see vigil alerts --help)`);
  const target = which ?? '';
  if (sub === 'rm' && target === '') throw new ConfigError('alerts rules rm needs a rule id or name');
  const rule = sub === 'add' ? ruleFromFlags(values) : undefined;
  const now = Date.now();
  const { db } = await openStore(config.db, { sqliteSynchronous: config.sqliteSynchronous, now });
  try {
    if (sub === 'list') {
      const rules = await listRules(db);
      if (values.json) out.write(`${JSON.stringify(rules, null, 2)}\n`);
      else for (const r of rules) out.write(`${describeRule(r)}\n`);
      return 0;
    }
    if (rule !== undefined) {
      const result = await db.transaction((tx) => insertRule(tx, rule, 'cli', now));
      if (!result.ok) throw new ConfigError(`a rule named ${JSON.stringify(rule.name)} exists`);
      out.write(`added ${describeRule(result.rule)}\n`);
      return 0;
    }
    const found = /^\d+$/.test(target) ? await getRule(db, Number(target)) : (await listRules(db)).find((r) => r.name === target);
    const removed = found && (await db.transaction((tx) => deleteRule(tx, found.id)));
    if (!removed?.ok) {
      process.stderr.write(`no alert rule ${JSON.stringify(target)}\n`);
      return 1;
    }
    out.write(`removed rule ${removed.rule.id} (${removed.rule.name})\n`);
    return 0;
  } finally {
    await db.close();
  }
}

type Flags = { [K in keyof typeof RULE_FLAGS]?: (typeof RULE_FLAGS)[K]['type'] extends 'boolean' ? boolean : string };

/** Builds the rule from flags and checks it against the API's schema, so the CLI refuses what the API would. */
function ruleFromFlags(v: Flags): AlertRuleInput {
  const number = (flag: string, raw: string | undefined) => {
    if (raw === undefined) return undefined;
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`--${flag} must be a number, not ${JSON.stringify(raw)}`);
    return n;
  };
  const scope = { agent_id: v.agent, pool_name: v.pool, agent_type: v.type };
  const rule = {
    name: v.name,
    metric: v.metric,
    op: v.op,
    threshold: number('threshold', v.threshold),
    for_seconds: number('for', v.for),
    severity: v.severity,
    scope: Object.fromEntries(Object.entries(scope).filter(([, x]) => x !== undefined)),
    enabled: !v.disabled,
    hysteresis: number('hysteresis', v.hysteresis),
    window_seconds: number('window', v.window),
    group_by: v['group-by'],
  };
  if (rule.name === undefined || rule.metric === undefined || rule.op === undefined || rule.threshold === undefined) {
    throw new ConfigError('alerts rules add needs --name, --metric, --op and --threshold');
  }
  const defined = Object.fromEntries(Object.entries(rule).filter(([, x]) => x !== undefined));
  const problem = ruleProblem(defined);
  // The schema names fields as the API does; say them as the flags they came from.
  const flag = (field: string) =>
    ({ for_seconds: '--for', scope: '--agent/--pool/--type', window_seconds: '--window', group_by: '--group-by' })[field] ?? `--${field}`;
  if (problem) throw new ConfigError(`alerts rules add: ${problem.replace(/^rule\.(\w+)/, (_, f: string) => flag(f))}`);
  return defined as AlertRuleInput;
}

function describeRule(r: AlertRule): string {
  const scope = Object.entries(r.scope)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const state = r.enabled ? '' : '  (disabled)';
  const window = r.window_seconds === null ? '' : ` over ${r.window_seconds} s${r.group_by === 'pool' ? ' per pool' : ''}`;
  return `${r.id}  ${r.name}: ${r.metric}${window} ${r.op} ${r.threshold} for ${r.for_seconds} s, ${r.severity}, ${scope || 'all agents'}${state}`;
}
