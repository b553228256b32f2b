import { jsonColumn, Where, type SqlExecutor } from './db.js';

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
  'id, webhook_id, alert_id, kind, status, attempts, last_status_code, last_error, created_at, updated_at, delivered_at';

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
  webhookId: number;
  alertId: number;
  kind: DeliveryKind;
  payload: Record<string, unknown>;
}

/** Logs deliveries before their first attempt, so a restart can resume them. */
export async function insertDeliveries(tx: SqlExecutor, items: readonly NewDelivery[], now: number): Promise<number[]> {
  const ids: number[] = [];
  for (const d of items) {
    const row = await tx.get<{ id: number }>(
      `INSERT INTO webhook_deliveries (webhook_id, alert_id, kind, status, attempts, payload, created_at, updated_at)
       VALUES (?, ?, ?, 'pending', 0, ?, ?, ?) RETURNING id`,
      [d.webhookId, d.alertId, d.kind, JSON.stringify(d.payload), now, now],
    );
    ids.push(Number(row?.id));
  }
  return ids;
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
  await tx.run(
    `UPDATE webhook_deliveries SET attempts = ?, status = ?, last_status_code = ?, last_error = ?, updated_at = ?,
       delivered_at = CASE WHEN ? = 'delivered' THEN ? ELSE delivered_at END
     WHERE id = ?`,
    [a.attempts, a.status, a.statusCode, a.error, a.at, a.status, a.at, a.id],
  );
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

/** Deliveries a stop cut short, with what they were sending and where. */
export async function unfinishedDeliveries(db: SqlExecutor): Promise<(Delivery & { url: string; payload: Record<string, unknown> })[]> {
  const rows = await db.all<Delivery & { url: string; payload: unknown }>(
    `SELECT ${DELIVERY_COLUMNS.split(', ')
      .map((c) => `d.${c}`)
      .join(', ')}, w.url, d.payload
     FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id WHERE d.status = 'pending' ORDER BY d.id`,
  );
  return rows.map((r) => ({ ...toDelivery(r), url: r.url, payload: jsonColumn<Record<string, unknown>>(r.payload, {}) }));
}
