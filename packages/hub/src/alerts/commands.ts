import type { Alert, AlertRule, AlertRuleInput, AlertRulePatch } from '@vigil/protocol';
import { deleteRule, insertRule, syncFileRules, updateRule, type RuleRefusal } from '../store/alert-rules.js';
import { acknowledgeAlert, deleteSilence, insertSilence, writeAlert, type AlertWrite, type Silence } from '../store/alerts.js';
import type { SqlExecutor } from '../store/db.js';
import { forgetErrorCounts } from '../store/error-counts.js';
import {
  claimDelivery,
  releaseClaims,
  deleteWebhook,
  insertWebhook,
  recordAttempt,
  type AttemptRecord,
  type DeliveryClaim,
  type QueuedDelivery,
  type Webhook,
} from '../store/webhooks.js';
import { queueNotifications } from './outbox.js';

/**
 * Every write of the alerts domain, carried by the single writer as one `{kind: 'alerts'}` command,
 * so alert changes commit in order with the data that caused them.
 */
export type AlertAction =
  | { type: 'write_alerts'; writes: AlertWrite[] }
  | { type: 'ack'; alertId: number; now: number }
  | { type: 'create_rule'; rule: AlertRuleInput; source: AlertRule['source']; now: number }
  | { type: 'update_rule'; id: number; patch: AlertRulePatch; now: number }
  | { type: 'delete_rule'; id: number }
  | { type: 'sync_file_rules'; rules: AlertRuleInput[]; now: number }
  | { type: 'create_silence'; silence: { rule_id?: number; agent_id?: string; until: number; comment?: string }; now: number }
  | { type: 'delete_silence'; id: number }
  | { type: 'create_webhook'; webhook: { url: string; name?: string }; now: number }
  | { type: 'delete_webhook'; id: number }
  | { type: 'record_attempt'; attempt: AttemptRecord }
  | { type: 'claim_delivery'; claim: DeliveryClaim }
  | { type: 'release_claims'; by: string }
  | { type: 'forget_error_counts'; beforeSecond: number };

type NotFound<C> = { ok: false; code: C };

/** What each action answers; a refusal is a result, as for every command. */
export interface AlertResults {
  /** `deliveries`: the notifications these changes owe, logged in the same transaction. */
  write_alerts: { ok: true; written: { write: AlertWrite; alert: Alert | undefined }[]; deliveries: QueuedDelivery[] };
  ack: { ok: true; alert: Alert } | NotFound<'VIGIL_ALERT_NOT_FOUND'>;
  create_rule: { ok: true; rule: AlertRule } | RuleRefusal;
  update_rule: { ok: true; rule: AlertRule } | RuleRefusal;
  delete_rule: { ok: true; rule: AlertRule } | RuleRefusal;
  sync_file_rules: { ok: true; changed: number };
  create_silence: { ok: true; silence: Silence } | NotFound<'VIGIL_ALERT_RULE_NOT_FOUND'>;
  delete_silence: { ok: true; silence: Silence } | NotFound<'VIGIL_SILENCE_NOT_FOUND'>;
  create_webhook: { ok: true; webhook: Webhook };
  delete_webhook: { ok: true; webhook: Webhook } | NotFound<'VIGIL_WEBHOOK_NOT_FOUND'>;
  record_attempt: { ok: true };
  /** `attempts`: made so far; null when the delivery is finished or another hub holds it. */
  claim_delivery: { ok: true; attempts: number | null };
  release_claims: { ok: true; released: number };
  forget_error_counts: { ok: true; deleted: number };
}

export type AlertResult = AlertResults[keyof AlertResults];

/** A committed action with the result it answered; `type` narrows both, so readers need no casts. */
export type AppliedAlertAction = {
  [T in AlertAction['type']]: { type: T; action: Extract<AlertAction, { type: T }>; result: AlertResults[T] };
}[AlertAction['type']];

export async function applyAlertAction(tx: SqlExecutor, a: AlertAction): Promise<AlertResult> {
  switch (a.type) {
    case 'write_alerts': {
      const written: AlertResults['write_alerts']['written'] = [];
      for (const write of a.writes) written.push({ write, alert: await writeAlert(tx, write) });
      return { ok: true, written, deliveries: await queueNotifications(tx, written) };
    }
    case 'ack': {
      const alert = await acknowledgeAlert(tx, a.alertId, a.now);
      return alert ? { ok: true, alert } : { ok: false, code: 'VIGIL_ALERT_NOT_FOUND' };
    }
    case 'create_rule':
      return insertRule(tx, a.rule, a.source, a.now);
    case 'update_rule':
      return updateRule(tx, a.id, a.patch, a.now);
    case 'delete_rule':
      return deleteRule(tx, a.id);
    case 'sync_file_rules':
      return syncFileRules(tx, a.rules, a.now);
    case 'create_silence':
      return insertSilence(tx, a.silence, a.now);
    case 'delete_silence': {
      const silence = await deleteSilence(tx, a.id);
      return silence ? { ok: true, silence } : { ok: false, code: 'VIGIL_SILENCE_NOT_FOUND' };
    }
    case 'create_webhook':
      return { ok: true, webhook: await insertWebhook(tx, a.webhook, a.now) };
    case 'delete_webhook': {
      const webhook = await deleteWebhook(tx, a.id);
      return webhook ? { ok: true, webhook } : { ok: false, code: 'VIGIL_WEBHOOK_NOT_FOUND' };
    }
    case 'record_attempt':
      await recordAttempt(tx, a.attempt);
      return { ok: true };
    case 'claim_delivery':
      return { ok: true, attempts: (await claimDelivery(tx, a.claim))?.attempts ?? null };
    case 'release_claims':
      return { ok: true, released: await releaseClaims(tx, a.by) };
    case 'forget_error_counts':
      return { ok: true, deleted: await forgetErrorCounts(tx, a.beforeSecond) };
  }
}
