import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import { AlertRuleInput, ruleWindowProblem } from '@vigil/protocol';
import { describeValidation } from '../validation-message.js';
import { ConfigError } from '../config/config.js';

// The same exact validation as the API's bodies: no coercion, unknown fields refused.
const check = new Ajv({ coerceTypes: false, removeAdditional: false, useDefaults: false, strict: false }).compile<AlertRuleInput>(
  AlertRuleInput,
);

/** What is wrong with a rule, as one sentence naming the field (`rule.op must be one of …`); undefined when nothing is. */
export function ruleProblem(rule: unknown): string | undefined {
  return check(rule) ? ruleWindowProblem(rule) : describeValidation(check.errors ?? [], 'rule');
}

/**
 * Parses an `--alert-rules` file: `{"rules": [rule, ...]}` or a bare array, each rule in the shape
 * of `POST /api/v1/alert-rules`. Any problem is a ConfigError naming the file, the rule (by
 * position and name) and the field, so `vigil server` refuses to start with a message that says
 * what to fix.
 */
export function parseRulesFile(path: string, text: string): AlertRuleInput[] {
  const fail = (what: string) => new ConfigError(`--alert-rules ${path}: ${what}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw fail(`not valid JSON (${(err as Error).message})`);
  }
  const rules = Array.isArray(doc) ? doc : (doc as { rules?: unknown } | null)?.rules;
  if (!Array.isArray(rules)) throw fail('expected {"rules": [...]} or an array of rules');
  const names = new Set<string>();
  return rules.map((rule: unknown, i) => {
    const name = (rule as { name?: unknown } | null)?.name;
    const which = `rule ${i + 1}${typeof name === 'string' ? ` (${JSON.stringify(name)})` : ''}`;
    const problem = ruleProblem(rule);
    if (problem !== undefined) throw fail(`${which}: ${problem}`);
    const valid = rule as AlertRuleInput;
    if (names.has(valid.name)) throw fail(`${which}: another rule has the name ${JSON.stringify(valid.name)}`);
    names.add(valid.name);
    return valid;
  });
}

export function loadRulesFile(path: string): AlertRuleInput[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`--alert-rules ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  return parseRulesFile(path, text);
}
