import type { Alert } from '@vigil/protocol';

export type NotificationKind = 'firing' | 'repeat' | 'resolved';

/**
 * The JSON a webhook receives: the alert's fields, plus `text` so a Slack (or Mattermost, Discord
 * `/slack`) incoming-webhook URL can be used as it is, and `delivery_id`, the same in every send of
 * this notification, for receivers that discard repeats.
 */
export function webhookPayload(alert: Alert, kind: NotificationKind, deliveryId: string, detail?: string): Record<string, unknown> {
  const tag = kind === 'resolved' ? 'RESOLVED' : alert.severity.toUpperCase();
  const again = kind === 'repeat' ? ' (still firing)' : '';
  return {
    text: `[${tag}] ${alert.rule_name}: ${alert.message}${again}${detail ? `: ${detail}` : ''}`,
    event: kind,
    delivery_id: deliveryId,
    ...(detail ? { detail } : {}),
    alert,
  };
}
