import { Type, type Static } from 'typebox';
import { nullable } from './views.js';

/** A silence: notifications of a rule, an agent, or a rule on an agent are muted until `until`. */
export const SilenceView = Type.Object(
  {
    id: Type.Integer(),
    rule_id: nullable(Type.Integer()),
    agent_id: nullable(Type.String()),
    until: Type.Number(),
    comment: nullable(Type.String()),
    created_at: Type.Number(),
  },
  { additionalProperties: false },
);
export type Silence = Static<typeof SilenceView>;

/** A silence as listed: with whether it is in force now. */
export const ListedSilence = Type.Object({ ...SilenceView.properties, active: Type.Boolean() }, { additionalProperties: false });
export type ListedSilence = Static<typeof ListedSilence>;

/** A webhook; its URL is answered redacted to scheme, host and port (paths and credentials are often secrets). */
export const WebhookView = Type.Object(
  {
    id: Type.Integer(),
    name: nullable(Type.String()),
    url: Type.String({ description: 'Redacted to scheme, host and port' }),
    created_at: Type.Number(),
  },
  { additionalProperties: false },
);
export type Webhook = Static<typeof WebhookView>;

export const DELIVERY_KINDS = ['firing', 'repeat', 'resolved'] as const;
export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;

/** One notification to one webhook and the fate of its attempts. */
export const DeliveryView = Type.Object(
  {
    id: Type.Integer(),
    delivery_id: Type.String({ description: 'Stable across attempts (payload delivery_id, header x-vigil-delivery-id)' }),
    webhook_id: Type.Integer(),
    alert_id: Type.Integer(),
    kind: Type.Enum(DELIVERY_KINDS),
    status: Type.Enum(DELIVERY_STATUSES),
    attempts: Type.Integer(),
    last_status_code: nullable(Type.Integer()),
    last_error: nullable(Type.String()),
    created_at: Type.Number(),
    updated_at: Type.Number(),
    delivered_at: nullable(Type.Number()),
  },
  { additionalProperties: false },
);
export type Delivery = Static<typeof DeliveryView>;

/** `POST /api/v1/webhooks/:webhookId/test`: what the receiver said to one test send. */
export const WebhookTestResult = Type.Object(
  {
    delivered: Type.Boolean(),
    status_code: nullable(Type.Integer({ description: "The receiver's HTTP status; null when none came" })),
    error: nullable(Type.String()),
  },
  { additionalProperties: false },
);
export type WebhookTestResult = Static<typeof WebhookTestResult>;
