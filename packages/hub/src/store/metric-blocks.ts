import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * One agent's samples of one hour, packed into a block of columns and compressed (lossless):
 *  - receive times as the first time then deltas, agents' own times as their lag behind the
 *    receive time, statuses as codes: small integers in LEB128 varints;
 *  - each figure as a presence bitmap, then its present values' IEEE 754 bits XORed with the
 *    previous value's (a steady figure gives zeros, a slowly changing one zeros in its high bytes),
 *    laid out byte plane by byte plane so those zeros sit together;
 *  - the whole deflated by Node's zlib.
 * Values come back bit for bit. The layout is versioned by its first byte.
 */

const VERSION = 1;

export interface BlockSample {
  received_at: number;
  timestamp: number | null;
  status: number;
  /** One value per figure of the block's figure list, in its order; null where the sample had none. */
  values: (number | null)[];
}

class Out {
  private buf = Buffer.alloc(4096);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  byte(b: number): void {
    this.room(1);
    this.buf[this.length++] = b;
  }
  /** An unsigned integer up to 2^53, seven bits a byte. */
  varint(n: number): void {
    let v = n;
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }
  /** A signed integer, zigzagged so small negatives stay small. */
  signed(n: number): void {
    this.varint(n < 0 ? -2 * n - 1 : 2 * n);
  }
  bytes(b: Uint8Array): void {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  done(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

class In {
  pos = 0;
  constructor(private readonly buf: Buffer) {}
  byte(): number {
    if (this.pos >= this.buf.length) throw new Error('metric block is truncated');
    return this.buf[this.pos++] as number;
  }
  varint(): number {
    let n = 0;
    let scale = 1;
    for (;;) {
      const b = this.byte();
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
    }
  }
  signed(): number {
    const z = this.varint();
    return z % 2 === 1 ? -(z + 1) / 2 : z / 2;
  }
  bytes(n: number): Buffer {
    if (this.pos + n > this.buf.length) throw new Error('metric block is truncated');
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
}

const isInt = (v: number) => Number.isSafeInteger(v);

/** Packs samples (oldest first) of `figures` figures each. */
export function encodeBlock(samples: readonly BlockSample[], figures: number): Buffer {
  const out = new Out();
  const n = samples.length;
  out.byte(VERSION);
  out.varint(n);
  out.varint(figures);
  let prev = 0;
  for (const [i, s] of samples.entries()) {
    if (!isInt(s.received_at)) throw new Error('receive times are integers');
    out.signed(i === 0 ? s.received_at : s.received_at - prev);
    prev = s.received_at;
  }
  // An agent's own time: 0 for none, else 1 + the zigzagged lag (or 2 + raw bits for a non-integer).
  for (const s of samples) {
    if (s.timestamp === null) out.varint(0);
    else if (isInt(s.timestamp) && isInt(s.received_at - s.timestamp)) {
      const lag = s.received_at - s.timestamp;
      out.varint(1);
      out.signed(lag);
    } else {
      out.varint(2);
      const b = Buffer.alloc(8);
      b.writeDoubleLE(s.timestamp);
      out.bytes(b);
    }
  }
  for (const s of samples) out.varint(s.status);
  const bits = new DataView(new ArrayBuffer(8));
  for (let f = 0; f < figures; f++) {
    const present = new Uint8Array(Math.ceil(n / 8));
    const values: number[] = [];
    samples.forEach((s, i) => {
      const v = s.values[f];
      if (v === null || v === undefined) return;
      present[i >> 3] = (present[i >> 3] as number) | (1 << (i & 7));
      values.push(v);
    });
    out.bytes(present);
    // XOR with the previous value, then byte planes: plane p holds byte p of every value.
    const planes = new Uint8Array(values.length * 8);
    let hi = 0;
    let lo = 0;
    values.forEach((v, j) => {
      bits.setFloat64(0, v);
      const h = bits.getUint32(0);
      const l = bits.getUint32(4);
      const xh = (h ^ hi) >>> 0;
      const xl = (l ^ lo) >>> 0;
      hi = h;
      lo = l;
      for (let p = 0; p < 4; p++) {
        planes[p * values.length + j] = (xh >>> (24 - 8 * p)) & 0xff;
        planes[(p + 4) * values.length + j] = (xl >>> (24 - 8 * p)) & 0xff;
      }
    });
    out.bytes(planes);
  }
  return deflateRawSync(out.done(), { level: 6 });
}

/**
 * The samples a block holds, oldest first, as `encodeBlock` was given them. With `only` (figure
 * indexes), the other figures are skipped and left null: a chart of two figures decodes two planes.
 */
export function decodeBlock(data: Uint8Array, only?: readonly number[]): BlockSample[] {
  const r = new In(inflateRawSync(data));
  if (r.byte() !== VERSION) throw new Error('unknown metric block version');
  const n = r.varint();
  const figures = r.varint();
  const samples: BlockSample[] = [];
  let t = 0;
  for (let i = 0; i < n; i++) {
    t = i === 0 ? r.signed() : t + r.signed();
    samples.push({ received_at: t, timestamp: null, status: 0, values: new Array<number | null>(figures).fill(null) });
  }
  for (const s of samples) {
    const kind = r.varint();
    if (kind === 1) s.timestamp = s.received_at - r.signed();
    else if (kind === 2) s.timestamp = r.bytes(8).readDoubleLE(0);
  }
  for (const s of samples) s.status = r.varint();
  const bits = new DataView(new ArrayBuffer(8));
  for (let f = 0; f < figures; f++) {
    const present = r.bytes(Math.ceil(n / 8));
    const at: number[] = [];
    for (let i = 0; i < n; i++) if (((present[i >> 3] as number) >> (i & 7)) & 1) at.push(i);
    const planes = r.bytes(at.length * 8);
    if (only !== undefined && !only.includes(f)) continue;
    let hi = 0;
    let lo = 0;
    at.forEach((i, j) => {
      let xh = 0;
      let xl = 0;
      for (let p = 0; p < 4; p++) {
        xh = (xh << 8) | (planes[p * at.length + j] as number);
        xl = (xl << 8) | (planes[(p + 4) * at.length + j] as number);
      }
      hi = (hi ^ xh) >>> 0;
      lo = (lo ^ xl) >>> 0;
      bits.setUint32(0, hi);
      bits.setUint32(4, lo);
      (samples[i] as BlockSample).values[f] = bits.getFloat64(0);
    });
  }
  return samples;
}
