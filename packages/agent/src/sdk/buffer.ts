/** What the SDK sends: heartbeats are metric samples, the rest are records. */
export const ITEM_KINDS = ['heartbeat', 'event', 'error', 'trace'] as const;
export type ItemKind = (typeof ITEM_KINDS)[number];
export type KindCounts = Record<ItemKind, number>;

/** One report, serialised once when it is recorded (so later changes to the caller's objects cannot leak in). */
export interface QueuedItem {
  kind: ItemKind;
  /** When it happened, by the agent's clock (epoch ms). */
  at: number;
  /**
   * The item's JSON object without `agent_id` (known only once the agent is registered) and
   * `timestamp` (corrected for clock skew when it is sent); both are spliced in then.
   */
  json: string;
  /** UTF-8 size of `json`, counted against the buffer's byte bound. */
  bytes: number;
}

interface Entry extends QueuedItem {
  /** Recording order, so a batch goes out oldest first across both queues. */
  seq: number;
}

export interface BufferLimits {
  maxBytes: number;
  maxItems: number;
}

export const zeroCounts = (): KindCounts => ({ heartbeat: 0, event: 0, error: 0, trace: 0 });

/** First-in first-out queue with O(1) amortised push, shift and the re-insertion of what was just shifted. */
class Fifo<T extends { bytes: number }> {
  private items: (T | undefined)[] = [];
  private head = 0;
  /** Total size of the items held. */
  bytes = 0;

  get size(): number {
    return this.items.length - this.head;
  }

  peek(): T | undefined {
    return this.items[this.head];
  }

  push(x: T): void {
    this.items.push(x);
    this.bytes += x.bytes;
  }

  shift(): T | undefined {
    const x = this.items[this.head];
    if (x === undefined) return undefined;
    this.bytes -= x.bytes;
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return x;
  }

  /** Puts items back in front, in the given order. */
  unshift(xs: T[]): void {
    for (const x of xs) this.bytes += x.bytes;
    if (xs.length <= this.head) {
      this.head -= xs.length;
      for (let i = 0; i < xs.length; i++) this.items[this.head + i] = xs[i];
    } else {
      this.items = [...xs, ...this.items.slice(this.head)];
      this.head = 0;
    }
  }

  drain(): T[] {
    const rest = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    return rest;
  }
}

/**
 * The SDK's bounded in-memory queue (docs/reliability.md, decision 4). Heartbeats are samples where the
 * latest wins, so they are shed first, oldest first; events, errors and traces are kept until they
 * alone fill the bound, then the oldest of them go. Items handed out for sending still count
 * against the bound until they are settled, so a slow request cannot let memory grow past it.
 *
 * Every item recorded ends in exactly one of `delivered`, `dropped`, `droppedInvalid`, or is still
 * `pending`, so `recorded = delivered + dropped + droppedInvalid + pending` at all times.
 */
export class DeliveryBuffer {
  private readonly samples = new Fifo<Entry>();
  private readonly records = new Fifo<Entry>();
  private bytes = 0;
  private count = 0;
  private seq = 0;

  /** Items recorded, whatever became of them. */
  recorded = 0;
  /** Items the hub stored (a retry answered as a duplicate counts: the first copy was stored). */
  delivered = 0;
  /** Items shed to stay within the bound, or left undelivered at close, by kind. */
  readonly dropped: KindCounts = zeroCounts();
  /** Items the hub refused as invalid (never retried). */
  droppedInvalid = 0;

  constructor(private readonly limits: BufferLimits) {}

  /** Items waiting or in flight. */
  get pending(): number {
    return this.count;
  }

  /** Items waiting to be taken (not in flight). */
  get waiting(): number {
    return this.samples.size + this.records.size;
  }

  get pendingBytes(): number {
    return this.bytes;
  }

  /** Records an item, shedding what the policy says to keep within the bound; the item itself may be the one shed. */
  add(item: QueuedItem): void {
    this.recorded++;
    const sample = item.kind === 'heartbeat';
    // What may make room: waiting heartbeats for anything, waiting records only for a record;
    // never items in flight. If that cannot make room, the new item is shed and nothing else.
    const spareBytes = this.samples.bytes + (sample ? 0 : this.records.bytes);
    const spareCount = this.samples.size + (sample ? 0 : this.records.size);
    if (this.bytes - spareBytes + item.bytes > this.limits.maxBytes || this.count - spareCount + 1 > this.limits.maxItems) {
      this.dropped[item.kind]++;
      return;
    }
    while (this.bytes + item.bytes > this.limits.maxBytes || this.count + 1 > this.limits.maxItems) {
      const victim = (this.samples.shift() ?? this.records.shift()) as Entry;
      this.forget(victim);
      this.dropped[victim.kind]++;
    }
    const entry: Entry = { ...item, seq: this.seq++ };
    (sample ? this.samples : this.records).push(entry);
    this.bytes += item.bytes;
    this.count++;
  }

  /** Counts an item that was never queued (the client was closed, or it could not be serialised). */
  refuse(kind: ItemKind, invalid: boolean): void {
    this.recorded++;
    if (invalid) this.droppedInvalid++;
    else this.dropped[kind]++;
  }

  /**
   * Hands out the oldest waiting items, up to `maxItems` and `maxBytes` (but always at least one,
   * so an item larger than a batch still gets its chance). They stay pending until settled.
   */
  take(maxItems: number, maxBytes: number): QueuedItem[] {
    const out: Entry[] = [];
    let size = 0;
    while (out.length < maxItems) {
      const s = this.samples.peek();
      const r = this.records.peek();
      const from = s && (!r || s.seq < r.seq) ? this.samples : r ? this.records : undefined;
      const next = from?.peek();
      if (!from || !next || (out.length > 0 && size + next.bytes > maxBytes)) break;
      from.shift();
      out.push(next);
      size += next.bytes;
    }
    return out;
  }

  /** The hub stored these. */
  settleDelivered(items: QueuedItem[]): void {
    for (const it of items) this.forget(it);
    this.delivered += items.length;
  }

  /** The hub refused these as invalid. */
  settleInvalid(items: QueuedItem[]): void {
    for (const it of items) this.forget(it);
    this.droppedInvalid += items.length;
  }

  /** These were not delivered and go back to the front, to be sent again first. */
  requeue(items: QueuedItem[]): void {
    const entries = items as Entry[];
    this.samples.unshift(entries.filter((e) => e.kind === 'heartbeat'));
    this.records.unshift(entries.filter((e) => e.kind !== 'heartbeat'));
  }

  /** Gives up on everything waiting (at close), counting it as dropped; returns how many. */
  discard(): number {
    const rest = [...this.samples.drain(), ...this.records.drain()];
    for (const it of rest) {
      this.forget(it);
      this.dropped[it.kind]++;
    }
    return rest.length;
  }

  private forget(it: QueuedItem): void {
    this.bytes -= it.bytes;
    this.count--;
  }
}
