import { Where, type SqlExecutor } from './db.js';

export interface Webhook {
  id: number;
  name: string | null;
  url: string;
  created_at: number;
}

export type DeliveryKind = 'firing' | 'repeat' | 'resolved';
export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One notification to one webhook and the fate of its attempts. */
export interface Delivery {
  id: number;
  /** The notification's stable id, the same in every attempt (payload `delivery_id`, header `x-vigil-delivery-id`). */
  delivery_id: string;
  webhook_id: number;
  alert_id: number;
  kind: DeliveryKind;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
}

const WEBHOOK_COLUMNS = 'id, name, url, created_at';
const DELIVERY_COLUMNS =
  'id, delivery_id, webhook_id, alert_id, kind, status, attempts, last_status_code, last_error, created_at, updated_at, delivered_at';

const toWebhook = (r: Webhook): Webhook => ({ ...r, id: Number(r.id), created_at: Number(r.created_at) });
const toDelivery = (r: Delivery): Delivery => ({
  ...r,
  id: Number(r.id),
  webhook_id: Number(r.webhook_id),
  alert_id: Number(r.alert_id),
  attempts: Number(r.attempts),
  last_status_code: r.last_status_code === null ? null : Number(r.last_status_code),
  created_at: Number(r.created_at),
  updated_at: Number(r.updated_at),
  delivered_at: r.delivered_at === null ? null : Number(r.delivered_at),
});

export async function insertWebhook(tx: SqlExecutor, w: { url: string; name?: string | undefined }, now: number): Promise<Webhook> {
  const row = await tx.get<Webhook>(`INSERT INTO webhooks (name, url, created_at) VALUES (?, ?, ?) RETURNING ${WEBHOOK_COLUMNS}`, [
    w.name ?? null,
    w.url,
    now,
  ]);
  if (!row) throw new Error('webhook row missing after insert');
  return toWebhook(row);
}

/** Deletes a webhook and its delivery log; a delivery in flight finishes but records nothing. */
export async function deleteWebhook(tx: SqlExecutor, id: number): Promise<Webhook | undefined> {
  const row = await tx.get<Webhook>(`DELETE FROM webhooks WHERE id = ? RETURNING ${WEBHOOK_COLUMNS}`, [id]);
  if (row) await tx.run('DELETE FROM webhook_deliveries WHERE webhook_id = ?', [id]);
  return row && toWebhook(row);
}

export async function listWebhooks(db: SqlExecutor): Promise<Webhook[]> {
  return (await db.all<Webhook>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks ORDER BY id`)).map(toWebhook);
}

export async function getWebhook(db: SqlExecutor, id: number): Promise<Webhook | undefined> {
  const row = await db.get<Webhook>(`SELECT ${WEBHOOK_COLUMNS} FROM webhooks WHERE id = ?`, [id]);
  return row && toWebhook(row);
}

export interface NewDelivery {
  deliveryId: string;
  webhookId: number;
  alertId: number;
  kind: DeliveryKind;
  payload: Record<string, unknown>;
}

/** A logged delivery that is still to be sent. */
export interface QueuedDelivery {
  id: number;
  deliveryId: string;
  url: string;
  /** The JSON body, as stored. */
  body: string;
  /** Attempts already made. */
  attempts: number;
}

/**
 * Logs deliveries before their first attempt, in the transaction of the alert change they announce
 * (the outbox the notifier drains). A delivery id already logged is skipped, so the same transition
 * written twice is sent once; answers the rows it added.
 */
export async function enqueueDeliveries(
  tx: SqlExecutor,
  items: readonly (NewDelivery & { url: string })[],
  now: number,
): Promise<QueuedDelivery[]> {
  const queued: QueuedDelivery[] = [];
  for (const d of items) {
    const body = JSON.stringify(d.payload);
    const row = await tx.get<{ id: number }>(
      `INSERT INTO webhook_deliveries (delivery_id, webhook_id, alert_id, kind, status, attempts, payload, created_at, updated_at)
       VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?) ON CONFLICT (delivery_id) DO NOTHING RETURNING id`,
      [d.deliveryId, d.webhookId, d.alertId, d.kind, body, now, now],
    );
    if (row) queued.push({ id: Number(row.id), deliveryId: d.deliveryId, url: d.url, body, attempts: 0 });
  }
  return queued;
}

export interface AttemptRecord {
  id: number;
  attempts: number;
  status: DeliveryStatus;
  statusCode: number | null;
  error: string | null;
  at: number;
}

export async function recordAttempt(tx: SqlExecutor, a: AttemptRecord): Promise<void> {
  // A finished delivery's claim is let go; a pending one's stays until its holder renews it or it lapses.
  await tx.run(
    `UPDATE webhook_deliveries SET attempts = ?, status = ?, last_status_code = ?, last_error = ?, updated_at = ?,
       claim_until = CASE WHEN ? = 'pending' THEN claim_until ELSE NULL END,
       delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END
     WHERE id = ?`,
    [a.attempts, a.status, a.statusCode, a.error, a.at, a.status, a.status, a.at, a.id],
  );
}

export interface DeliveryClaim {
  id: number;
  /** The hub asking (its cluster id). */
  by: string;
  now: number;
  /** When the claim lapses if not renewed or finished: another hub may then send the delivery. */
  until: number;
}

/**
 * Claims a pending delivery for one hub until `until` (a lease): answers its attempts so far, or
 * undefined when it is finished or another hub holds a live claim. A conditional UPDATE … RETURNING
 * is one atomic step on both databases, so of hubs asking at once exactly one gets it; the holder
 * renews its claim before each attempt.
 */
export async function claimDelivery(tx: SqlExecutor, c: DeliveryClaim): Promise<{ attempts: number } | undefined> {
  const row = await tx.get<{ attempts: number }>(
    `UPDATE webhook_deliveries SET claimed_by = ?, claim_until = ?
     WHERE id = ? AND status = 'pending' AND (claimed_by IS NULL OR claimed_by = ? OR claim_until IS NULL OR claim_until < ?)
     RETURNING attempts`,
    [c.by, c.until, c.id, c.by, c.now],
  );
  return row && { attempts: Number(row.attempts) };
}

/** Lets go of every claim `by` holds on deliveries still pending (a hub stopping), so another hub may send them at once. */
export async function releaseClaims(tx: SqlExecutor, by: string): Promise<number> {
  return (await tx.run(`UPDATE webhook_deliveries SET claim_until = NULL WHERE claimed_by = ? AND status = 'pending'`, [by])).changes;
}

/** A webhook's deliveries, newest first, keyset-paged by id. */
export async function listDeliveries(
  db: SqlExecutor,
  webhookId: number,
  f: { before?: number | undefined; limit: number },
): Promise<{ deliveries: Delivery[]; next: number | null }> {
  const w = new Where().add('webhook_id = ?', webhookId);
  if (f.before !== undefined) w.add('id < ?', f.before);
  const rows = await db.all<Delivery>(`SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries ${w.sql()} ORDER BY id DESC LIMIT ?`, [
    ...w.params,
    f.limit + 1,
  ]);
  const page = rows.slice(0, f.limit).map(toDelivery);
  return { deliveries: page, next: rows.length > f.limit ? (page.at(-1)?.id ?? null) : null };
}

/** Deliveries not yet delivered or failed (a stop or a crash cut them short), oldest first. */
export async function unfinishedDeliveries(db: SqlExecutor): Promise<QueuedDelivery[]> {
  const rows = await db.all<{ id: number; delivery_id: string; url: string; payload: unknown; attempts: number }>(
    `SELECT d.id, d.delivery_id, w.url, d.payload, d.attempts
     FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.status = 'pending' ORDER BY d.id`,
  );
  return rows.map((r) => ({
    id: Number(r.id),
    deliveryId: r.delivery_id,
    url: r.url,
    // SQLite hands the stored text back; PostgreSQL's JSONB a parsed value.
    body: typeof r.payload === 'string' ? r.payload : JSON.stringify(r.payload),
    attempts: Number(r.attempts),
  }));
}
