/**
 * OTLP attribute values (AnyValue) turned into plain JSON values, with the limits that keep hostile
 * input bounded: attributes per record, characters per value, nesting depth (a deeper tree is kept
 * as its JSON text), and text that PostgreSQL can store (no U+0000, no lone surrogates).
 */
export const MAX_ATTRIBUTES = 128;
export const MAX_VALUE_CHARS = 4096;
export const MAX_KEY_CHARS = 200;
/** AnyValue trees deeper than this are stored as their JSON text rather than nested. */
export const MAX_VALUE_DEPTH = 4;

export type Attrs = Record<string, unknown>;

/** Raised for a body whose structure is not OTLP (answered 400, never retried by clients). */
export class OtlpMalformed extends Error {}

export const has = (o: object, key: string): boolean => Object.prototype.hasOwnProperty.call(o, key);

export function cleanText(s: string, max = MAX_VALUE_CHARS): string {
  let out = s.includes('\u0000') ? s.split('\u0000').join('') : s;
  if (out.length > max) out = out.slice(0, max);
  return out.isWellFormed() ? out : out.toWellFormed();
}

export function asObject(v: unknown, where: string): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) throw new OtlpMalformed(`${where} must be an object`);
  return v as Record<string, unknown>;
}

export function asArray(v: unknown, where: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new OtlpMalformed(`${where} must be an array`);
  return v;
}

export function asString(v: unknown, where: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw new OtlpMalformed(`${where} must be a string`);
  return v;
}

interface LongLike {
  low: number;
  high: number;
  unsigned: boolean;
}
const isLong = (v: unknown): v is LongLike =>
  typeof v === 'object' && v !== null && typeof (v as LongLike).low === 'number' && typeof (v as LongLike).high === 'number';

/**
 * A 64-bit integer as protobuf (Long) or OTLP/JSON (a decimal string or a number) sends it, exactly.
 */
export function asBigInt(v: unknown, where: string): bigint {
  if (v === undefined || v === null || v === '') return 0n;
  if (typeof v === 'bigint') return v;
  if (isLong(v)) {
    const bits = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
    return v.unsigned ? bits : BigInt.asIntN(64, bits);
  }
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return BigInt(v);
  throw new OtlpMalformed(`${where} must be an integer`);
}

/** Unsigned nanoseconds since the epoch (fixed64); a negative or over-64-bit value is malformed. */
export function asNanos(v: unknown, where: string): bigint {
  const n = BigInt.asUintN(64, asBigInt(v, where));
  if (typeof v === 'string' && BigInt(v) !== n) throw new OtlpMalformed(`${where} must be an unsigned 64-bit integer`);
  return n;
}

/** Nanoseconds to epoch milliseconds (whole, rounded down); 0 stays 0 (unset). */
export const nanosToMs = (ns: bigint): number => Number(ns / 1_000_000n);

/** An enum as OTLP/JSON must send it (an integer), or by name, which some senders use. */
export function asEnum(v: unknown, names: Record<string, number>, where: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && v in names) return names[v] as number;
  throw new OtlpMalformed(`${where} must be an enum value`);
}

/**
 * A trace (16 bytes) or span (8 bytes) id as lowercase hex: protobuf sends bytes, OTLP/JSON hex.
 * Returns undefined when absent, and null when present but invalid (wrong length or all zeros).
 */
export function asId(v: unknown, bytes: number, where: string): string | undefined | null {
  let hex: string;
  // protobufjs leaves an absent bytes field as its prototype's default, an empty array.
  if (v === undefined || v === null || (Array.isArray(v) && v.length === 0)) return undefined;
  if (v instanceof Uint8Array) {
    if (v.length === 0) return undefined;
    if (v.length !== bytes) return null;
    hex = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  } else if (typeof v === 'string') {
    if (v === '') return undefined;
    if (v.length !== bytes * 2 || !/^[0-9a-fA-F]+$/.test(v)) return null;
    hex = v.toLowerCase();
  } else {
    throw new OtlpMalformed(`${where} must be a hex string`);
  }
  return /^0+$/.test(hex) ? null : hex;
}

/** Reads one AnyValue: strings, booleans (false kept), int64 (exact: a string past 2^53), doubles, arrays, maps, bytes. */
export function anyValue(v: unknown, depth = 0): unknown {
  const o = asObject(v, 'AnyValue');
  if (has(o, 'stringValue')) return cleanText(asString(o['stringValue'], 'stringValue'));
  if (has(o, 'boolValue')) {
    if (typeof o['boolValue'] !== 'boolean') throw new OtlpMalformed('boolValue must be a boolean');
    return o['boolValue'];
  }
  if (has(o, 'intValue')) {
    const n = asBigInt(o['intValue'], 'intValue');
    return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString();
  }
  if (has(o, 'doubleValue')) {
    const d = o['doubleValue'];
    // OTLP/JSON spells non-finite doubles as strings; JSON storage cannot hold them, so they become text.
    if (typeof d === 'number') return Number.isFinite(d) ? d : String(d);
    if (typeof d === 'string' && ['NaN', 'Infinity', '-Infinity'].includes(d)) return d;
    if (typeof d === 'string' && d.trim() !== '' && Number.isFinite(Number(d))) return Number(d);
    throw new OtlpMalformed('doubleValue must be a number');
  }
  if (has(o, 'bytesValue')) {
    const b = o['bytesValue'];
    if (b instanceof Uint8Array) return cleanText(Buffer.from(b).toString('base64'));
    return cleanText(asString(b, 'bytesValue'));
  }
  if (has(o, 'arrayValue')) {
    const values = asArray(asObject(o['arrayValue'], 'arrayValue')['values'], 'arrayValue.values');
    const out = values.slice(0, MAX_ATTRIBUTES).map((x) => anyValue(x, depth + 1));
    return depth + 1 > MAX_VALUE_DEPTH ? cleanText(JSON.stringify(out)) : out;
  }
  if (has(o, 'kvlistValue')) {
    const out = keyValues(asObject(o['kvlistValue'], 'kvlistValue')['values'], depth + 1).attrs;
    return depth + 1 > MAX_VALUE_DEPTH ? cleanText(JSON.stringify(out)) : out;
  }
  return null;
}

/** A list of KeyValue as one object; past the cap, the rest are counted as dropped. Later duplicates win. */
export function keyValues(list: unknown, depth = 0): { attrs: Attrs; dropped: number } {
  const items = asArray(list, 'attributes');
  const attrs: Attrs = Object.create(null) as Attrs;
  let count = 0;
  let dropped = 0;
  for (const item of items) {
    const kv = asObject(item, 'KeyValue');
    const key = cleanText(asString(kv['key'], 'key'), MAX_KEY_CHARS);
    if (key === '' || key === '__proto__') continue;
    if (!has(attrs, key) && count >= MAX_ATTRIBUTES) {
      dropped++;
      continue;
    }
    if (!has(attrs, key)) count++;
    attrs[key] = anyValue(kv['value'], depth);
  }
  return { attrs: { ...attrs }, dropped };
}

/** A number from an attribute that may arrive as an int, a double or a decimal string. */
export function numberAttr(attrs: Attrs, ...keys: string[]): number | undefined {
  for (const key of keys) {
    const v = attrs[key];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  }
  return undefined;
}

export function stringAttr(attrs: Attrs, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const v = attrs[key];
    if (typeof v === 'string' && v !== '') return v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  }
  return undefined;
}
