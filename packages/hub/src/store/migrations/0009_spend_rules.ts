import type { Migration } from './types.js';

/**
 * Rules on LLM spend (`cost_usd`, `tokens.*`) sum the calls of a sliding window, per agent or per
 * pool. Both columns are null for every other rule. A pool-wide alert needs no column of its own:
 * it is stored with `agent_id = 'pool:<name>'`, which cannot meet an agent's alert of the same rule
 * because a rule is either per agent or per pool.
 */
export const spendRules: Migration = {
  version: 9,
  name: 'windowed LLM spend rules',
  statements: () => [`ALTER TABLE alert_rules ADD COLUMN window_seconds INTEGER`, `ALTER TABLE alert_rules ADD COLUMN group_by TEXT`],
};
