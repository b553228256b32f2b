import { Type } from 'typebox';
import {
  AgentId,
  AlertAnswer,
  AlertRuleInput,
  AlertRulePatch,
  AlertsPage,
  ALERT_STATES,
  DeliveriesPage,
  EpochMs,
  RuleAnswer,
  RulesAnswer,
  SilenceAnswer,
  SilencesAnswer,
  WebhookAnswer,
  WebhooksAnswer,
  WebhookTestResult,
} from '@vigil/protocol';
import { submitAlertAction } from '../alerts/submit.js';
import { redactedWebhook } from '../alerts/url-redaction.js';
import { checkWebhookUrl } from '../alerts/webhook-target.js';
import { postJson } from '../alerts/webhooks.js';
import { VigilError, type ErrorCode } from '../errors.js';
import { getRule, listRules } from '../store/alert-rules.js';
import { getAlert, listAlerts, listSilences } from '../store/alerts.js';
import { getWebhook, listDeliveries, listWebhooks } from '../store/webhooks.js';
import type { Routes } from './context.js';
import { pageLimit, PageQuery } from './paging.js';
import { REFUSALS } from './responses.js';
import { alertView, deliveryView, listedSilenceView, ruleView, silenceView, webhookView } from './views.js';

const Id = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });
const RuleParams = Type.Object({ ruleId: Id });
const AlertParams = Type.Object({ alertId: Id });
const SilenceParams = Type.Object({ silenceId: Id });
const WebhookParams = Type.Object({ webhookId: Id });

/** Longest a test send may take, as for a real delivery. */
const TEST_SEND_TIMEOUT_MS = 10_000;

/** Longest silence: a year; anything longer is a rule to disable or delete. */
const MAX_SILENCE_MS = 365 * 86_400_000;

const CreateSilence = Type.Object(
  {
    rule_id: Type.Optional(Id),
    agent_id: Type.Optional(AgentId),
    until: Type.Optional(EpochMs),
    duration_seconds: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_SILENCE_MS / 1000 })),
    comment: Type.Optional(Type.String({ maxLength: 500 })),
  },
  { additionalProperties: false },
);

const CreateWebhook = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048 }),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  },
  { additionalProperties: false },
);

/** Turns a refusal into its API error; passes a success through, narrowed. */
function ok<T extends { ok: boolean }>(result: T): Extract<T, { ok: true }> {
  if (!result.ok) {
    const refusal = result as unknown as { code: ErrorCode; message?: string };
    throw new VigilError(refusal.code, refusal.message);
  }
  return result as Extract<T, { ok: true }>;
}

/** Alert rules, alerts, silences and webhooks: all admin-only. */
export const alertRoutes: Routes = (app, { db, writer, clock, alerts }) => {
  const admin = { access: 'admin' as const };

  app.post(
    '/api/v1/alert-rules',
    {
      config: admin,
      schema: { summary: 'Create an alert rule', tags: ['alerts'], body: AlertRuleInput, response: { 201: RuleAnswer, ...REFUSALS } },
    },
    async (req, reply) => {
      const { rule } = ok(await submitAlertAction(writer, { type: 'create_rule', rule: req.body, source: 'api', now: clock.now() }));
      await alerts.engine.tick();
      return reply.status(201).send({ rule: ruleView(rule) });
    },
  );

  app.get(
    '/api/v1/alert-rules',
    { config: admin, schema: { summary: 'List alert rules', tags: ['alerts'], response: { 200: RulesAnswer, ...REFUSALS } } },
    async () => ({ rules: (await listRules(db)).map(ruleView) }),
  );

  app.get(
    '/api/v1/alert-rules/:ruleId',
    {
      config: admin,
      schema: { summary: 'One alert rule', tags: ['alerts'], params: RuleParams, response: { 200: RuleAnswer, ...REFUSALS } },
    },
    async (req) => {
      const rule = await getRule(db, req.params.ruleId);
      if (!rule) throw new VigilError('VIGIL_ALERT_RULE_NOT_FOUND');
      return { rule: ruleView(rule) };
    },
  );

  app.patch(
    '/api/v1/alert-rules/:ruleId',
    {
      config: admin,
      schema: {
        summary: 'Change an alert rule; a new metric, comparator, threshold or scope ends its open alerts',
        tags: ['alerts'],
        params: RuleParams,
        body: AlertRulePatch,
        response: { 200: RuleAnswer, ...REFUSALS },
      },
    },
    async (req) => {
      const { rule } = ok(
        await submitAlertAction(writer, { type: 'update_rule', id: req.params.ruleId, patch: req.body, now: clock.now() }),
      );
      await alerts.engine.tick();
      return { rule: ruleView(rule) };
    },
  );

  app.delete(
    '/api/v1/alert-rules/:ruleId',
    {
      config: admin,
      schema: {
        summary: 'Delete an alert rule; its open alerts resolve',
        tags: ['alerts'],
        params: RuleParams,
        response: { 200: RuleAnswer, ...REFUSALS },
      },
    },
    async (req) => {
      const { rule } = ok(await submitAlertAction(writer, { type: 'delete_rule', id: req.params.ruleId }));
      await alerts.engine.tick();
      return { rule: ruleView(rule) };
    },
  );

  app.get(
    '/api/v1/alerts',
    {
      config: admin,
      schema: {
        summary: 'Alerts (pending, firing and resolved), newest first',
        tags: ['alerts'],
        querystring: Type.Object(
          {
            state: Type.Optional(Type.Enum(ALERT_STATES)),
            agent_id: Type.Optional(AgentId),
            rule_id: Type.Optional(Id),
            before: Type.Optional(Id),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
        response: { 200: AlertsPage, ...REFUSALS },
      },
    },
    async (req) => {
      const q = req.query;
      const { alerts: page, next } = await listAlerts(db, { ...q, limit: pageLimit(q.limit) });
      return { alerts: page.map(alertView), next_cursor: next };
    },
  );

  app.get(
    '/api/v1/alerts/:alertId',
    {
      config: admin,
      schema: { summary: 'One alert', tags: ['alerts'], params: AlertParams, response: { 200: AlertAnswer, ...REFUSALS } },
    },
    async (req) => {
      const alert = await getAlert(db, req.params.alertId);
      if (!alert) throw new VigilError('VIGIL_ALERT_NOT_FOUND');
      return { alert: alertView(alert) };
    },
  );

  app.post(
    '/api/v1/alerts/:alertId/ack',
    {
      config: admin,
      schema: {
        summary: 'Acknowledge an alert: no more repeat notifications (idempotent)',
        tags: ['alerts'],
        params: AlertParams,
        response: { 200: AlertAnswer, ...REFUSALS },
      },
    },
    async (req) => {
      const { alert } = ok(await submitAlertAction(writer, { type: 'ack', alertId: req.params.alertId, now: clock.now() }));
      return { alert: alertView(alert) };
    },
  );

  app.post(
    '/api/v1/silences',
    {
      config: admin,
      schema: {
        summary: 'Mute notifications of a rule, an agent, or a rule on an agent, until a time',
        tags: ['alerts'],
        body: CreateSilence,
        response: { 201: SilenceAnswer, ...REFUSALS },
      },
    },
    async (req, reply) => {
      const { rule_id, agent_id, until, duration_seconds, comment } = req.body;
      const now = clock.now();
      if (rule_id === undefined && agent_id === undefined) {
        throw new VigilError('VIGIL_VALIDATION', 'body must name rule_id, agent_id or both: a silence mutes a rule or an agent');
      }
      if ((until === undefined) === (duration_seconds === undefined)) {
        throw new VigilError('VIGIL_VALIDATION', 'body must give exactly one of until (epoch ms) or duration_seconds');
      }
      const end = until ?? now + (duration_seconds as number) * 1000;
      if (end <= now) throw new VigilError('VIGIL_VALIDATION', 'body.until must be in the future');
      if (end - now > MAX_SILENCE_MS) throw new VigilError('VIGIL_VALIDATION', 'body.until may be at most a year ahead');
      const { silence } = ok(
        await submitAlertAction(writer, { type: 'create_silence', silence: { rule_id, agent_id, until: end, comment }, now }),
      );
      await alerts.engine.tick();
      return reply.status(201).send({ silence: silenceView(silence) });
    },
  );

  app.get(
    '/api/v1/silences',
    {
      config: admin,
      schema: {
        summary: 'Silences, newest first (active only unless ?all=true)',
        tags: ['alerts'],
        querystring: Type.Object({ all: Type.Optional(Type.Boolean()), ...PageQuery }, { additionalProperties: false }),
        response: { 200: SilencesAnswer, ...REFUSALS },
      },
    },
    async (req) => {
      const now = clock.now();
      const silences = await listSilences(db, { activeAt: req.query.all ? undefined : now, limit: pageLimit(req.query.limit) });
      return { silences: silences.map((s) => listedSilenceView({ ...s, active: s.until > now })) };
    },
  );

  app.delete(
    '/api/v1/silences/:silenceId',
    {
      config: admin,
      schema: { summary: 'End a silence now', tags: ['alerts'], params: SilenceParams, response: { 200: SilenceAnswer, ...REFUSALS } },
    },
    async (req) => {
      const { silence } = ok(await submitAlertAction(writer, { type: 'delete_silence', id: req.params.silenceId }));
      await alerts.engine.tick();
      return { silence: silenceView(silence) };
    },
  );

  app.post(
    '/api/v1/webhooks',
    {
      config: admin,
      schema: {
        summary: 'Add a webhook that receives firing and resolved alerts',
        tags: ['alerts'],
        body: CreateWebhook,
        response: { 201: WebhookAnswer, ...REFUSALS },
      },
    },
    async (req, reply) => {
      const target = checkWebhookUrl(req.body.url, alerts.allowPrivateWebhooks);
      if (!target.ok) throw new VigilError('VIGIL_WEBHOOK_TARGET_REFUSED', `body.url is refused: ${target.reason}`);
      const { webhook } = ok(
        await submitAlertAction(writer, {
          type: 'create_webhook',
          webhook: { url: target.url.href, name: req.body.name },
          now: clock.now(),
        }),
      );
      return reply.status(201).send({ webhook: webhookView(redactedWebhook(webhook)) });
    },
  );

  // URLs are answered redacted (scheme, host and port): credentials and paths are often secrets.
  app.get(
    '/api/v1/webhooks',
    {
      config: admin,
      schema: {
        summary: 'List webhooks (URLs redacted to scheme, host and port)',
        tags: ['alerts'],
        response: { 200: WebhooksAnswer, ...REFUSALS },
      },
    },
    async () => ({ webhooks: (await listWebhooks(db)).map((w) => webhookView(redactedWebhook(w))) }),
  );

  app.delete(
    '/api/v1/webhooks/:webhookId',
    {
      config: admin,
      schema: {
        summary: 'Delete a webhook and its delivery log',
        tags: ['alerts'],
        params: WebhookParams,
        response: { 200: WebhookAnswer, ...REFUSALS },
      },
    },
    async (req) => {
      const { webhook } = ok(await submitAlertAction(writer, { type: 'delete_webhook', id: req.params.webhookId }));
      return { webhook: webhookView(redactedWebhook(webhook)) };
    },
  );

  // One POST, now, answered with what the receiver said; not logged as a delivery and never retried,
  // since it is the operator checking the target by hand.
  app.post(
    '/api/v1/webhooks/:webhookId/test',
    {
      config: admin,
      schema: {
        summary: 'Send a test notification to a webhook now',
        tags: ['alerts'],
        params: WebhookParams,
        response: { 200: WebhookTestResult, ...REFUSALS },
      },
    },
    async (req) => {
      const hook = await getWebhook(db, req.params.webhookId);
      if (!hook) throw new VigilError('VIGIL_WEBHOOK_NOT_FOUND');
      const deliveryId = `test-${hook.id}-${clock.now()}`;
      const body = JSON.stringify({
        text: '[TEST] Vigil: this webhook receives alert notifications',
        event: 'test',
        delivery_id: deliveryId,
      });
      const outcome = await postJson(hook.url, body, {
        timeoutMs: TEST_SEND_TIMEOUT_MS,
        allowPrivate: alerts.allowPrivateWebhooks,
        signal: AbortSignal.timeout(TEST_SEND_TIMEOUT_MS + 1_000),
        headers: { 'x-vigil-delivery-id': deliveryId },
      });
      return outcome.ok
        ? { delivered: true, status_code: outcome.status, error: null }
        : { delivered: false, status_code: outcome.status, error: outcome.error };
    },
  );

  app.get(
    '/api/v1/webhooks/:webhookId/deliveries',
    {
      config: admin,
      schema: {
        summary: "A webhook's delivery log, newest first: attempts, status, last error",
        tags: ['alerts'],
        params: WebhookParams,
        querystring: Type.Object({ before: Type.Optional(Id), ...PageQuery }, { additionalProperties: false }),
        response: { 200: DeliveriesPage, ...REFUSALS },
      },
    },
    async (req) => {
      if (!(await getWebhook(db, req.params.webhookId))) throw new VigilError('VIGIL_WEBHOOK_NOT_FOUND');
      const { deliveries, next } = await listDeliveries(db, req.params.webhookId, { ...req.query, limit: pageLimit(req.query.limit) });
      return { deliveries: deliveries.map(deliveryView), next_cursor: next };
    },
  );
};
