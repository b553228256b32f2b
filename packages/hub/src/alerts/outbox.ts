import type { Alert } from '@vigil/protocol';
import type { AlertWrite } from '../store/alerts.js';
import type { SqlExecutor } from '../store/db.js';
import { lastCrashMessage } from '../store/events.js';
import { enqueueDeliveries, listWebhooks, type QueuedDelivery } from '../store/webhooks.js';
import { webhookPayload, type NotificationKind } from './format.js';

/**
 * The notification outbox: the deliveries an alert change owes are logged in that change's own
 * transaction, so a crash keeps both or neither, and the notifier sends what was logged.
 */

/** Which notification a committed write sends, if any: a resolve goes to whoever heard the firing. */
export function notificationFor(write: AlertWrite, alert: Alert): NotificationKind | undefined {
  switch (write.change) {
    case 'firing':
      return write.notify ? 'firing' : undefined;
    case 'notified':
      return write.repeat ? 'repeat' : 'firing';
    case 'resolved':
      return alert.notified_at !== null ? 'resolved' : undefined;
    case 'pending':
    case 'cancelled':
    case 'values':
      return undefined;
  }
}

/**
 * The stable id of one notification of one alert to one webhook. An alert is told of its firing and
 * its resolve once each, and of each repeat at its own time; `pending_since` keeps the id apart from
 * an alert of the same row number in another (or a recreated) database.
 */
export function deliveryIdFor(alert: Alert, kind: NotificationKind, webhookId: number): string {
  const transition = kind === 'repeat' ? `repeat-${alert.notified_at}` : kind;
  return `alert-${alert.id}-${alert.pending_since}-${transition}-webhook-${webhookId}`;
}

/** Logs the deliveries that the alert writes just made in this transaction owe; answers those to send. */
export async function queueNotifications(
  tx: SqlExecutor,
  written: readonly { write: AlertWrite; alert: Alert | undefined }[],
): Promise<QueuedDelivery[]> {
  const notices: { alert: Alert; kind: NotificationKind; at: number }[] = [];
  for (const { write, alert } of written) {
    const kind = alert && notificationFor(write, alert);
    if (alert && kind && 'at' in write) notices.push({ alert, kind, at: write.at });
  }
  if (notices.length === 0) return [];
  const hooks = await listWebhooks(tx);
  const queued: QueuedDelivery[] = [];
  for (const { alert, kind, at } of notices) {
    // A crash alert names what crashed it: the crash report's message carries the exception.
    const detail = alert.metric === 'crashed' && kind !== 'resolved' ? await lastCrashMessage(tx, alert.agent_id) : undefined;
    const items = hooks.map((h) => {
      const deliveryId = deliveryIdFor(alert, kind, h.id);
      const payload = webhookPayload(alert, kind, deliveryId, detail);
      return { deliveryId, webhookId: h.id, url: h.url, alertId: alert.id, kind, payload };
    });
    queued.push(...(await enqueueDeliveries(tx, items, at)));
  }
  return queued;
}

/**
 * Logs the "resolved" notifications owed for alerts a retirement ended (deleting an agent or pausing
 * it), in that command's transaction: whoever heard an alert fire hears it end, exactly as for a
 * resolve the engine decided.
 */
export async function queueResolutions(tx: SqlExecutor, resolved: readonly Alert[], at: number): Promise<QueuedDelivery[]> {
  const owed = resolved.filter((a) => a.notified_at !== null);
  if (owed.length === 0) return [];
  const hooks = await listWebhooks(tx);
  const items = owed.flatMap((alert) =>
    hooks.map((h) => {
      const deliveryId = deliveryIdFor(alert, 'resolved', h.id);
      return {
        deliveryId,
        webhookId: h.id,
        url: h.url,
        alertId: alert.id,
        kind: 'resolved' as const,
        payload: webhookPayload(alert, 'resolved', deliveryId),
      };
    }),
  );
  return enqueueDeliveries(tx, items, at);
}
