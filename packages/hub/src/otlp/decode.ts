import type protobuf from 'protobufjs';
import {
  anyValue,
  asArray,
  asEnum,
  asId,
  asNanos,
  asObject,
  asString,
  cleanText,
  has,
  keyValues,
  OtlpMalformed,
  type Attrs,
} from './attributes.js';
import { ExportLogsServiceRequest, ExportMetricsServiceRequest, ExportTraceServiceRequest } from './schema.js';

export type Signal = 'traces' | 'metrics' | 'logs';

/** One resource's records, with its attributes and each record's instrumentation scope name. */
export interface ResourceBatch<T> {
  resource: Attrs;
  records: (T & { scope: string })[];
}

export interface SpanIn {
  /** Null when the id was present but invalid (wrong length, all zeros): the span is rejected. */
  traceId: string | undefined | null;
  spanId: string | undefined | null;
  name: string;
  startNs: bigint;
  endNs: bigint;
  attributes: Attrs;
  /** 0 unset, 1 ok, 2 error. */
  statusCode: number;
  statusMessage: string;
}

export interface LogIn {
  timeNs: bigint;
  observedNs: bigint;
  severityNumber: number;
  severityText: string;
  body: unknown;
  attributes: Attrs;
  eventName: string;
  traceId: string | undefined | null;
  spanId: string | undefined | null;
}

export interface PointIn {
  attributes: Attrs;
  startNs: bigint;
  timeNs: bigint;
  value: number;
}

export interface MetricIn {
  name: string;
  unit: string;
  /** `unsupported` (exponential histograms, summaries, none): its points are counted as rejected. */
  kind: 'gauge' | 'sum' | 'histogram' | 'unsupported';
  /** 0 unspecified, 1 delta, 2 cumulative. */
  temporality: number;
  points: PointIn[];
  /** Points in the request, supported or not (for partial success). */
  pointCount: number;
}

export type Decoded =
  | { signal: 'traces'; resources: ResourceBatch<SpanIn>[] }
  | { signal: 'logs'; resources: ResourceBatch<LogIn>[] }
  | { signal: 'metrics'; resources: ResourceBatch<MetricIn>[] };

const REQUEST_TYPES: Record<Signal, protobuf.Type> = {
  traces: ExportTraceServiceRequest,
  metrics: ExportMetricsServiceRequest,
  logs: ExportLogsServiceRequest,
};

const TEMPORALITY = { AGGREGATION_TEMPORALITY_UNSPECIFIED: 0, AGGREGATION_TEMPORALITY_DELTA: 1, AGGREGATION_TEMPORALITY_CUMULATIVE: 2 };
const STATUS_CODE = { STATUS_CODE_UNSET: 0, STATUS_CODE_OK: 1, STATUS_CODE_ERROR: 2 };
const SEVERITY: Record<string, number> = { SEVERITY_NUMBER_UNSPECIFIED: 0 };

/**
 * Decodes an export request body (protobuf or OTLP/JSON) into one normalized shape. Both encodings
 * are walked by the same reader: the schema's field names are the JSON mapping's, and the readers of
 * ids, 64-bit integers and enums accept either encoding's spelling. Unknown fields are ignored.
 * A body that is not OTLP throws OtlpMalformed.
 */
export function decodeRequest(signal: Signal, format: 'protobuf' | 'json', body: Buffer): Decoded {
  let root: Record<string, unknown>;
  try {
    if (format === 'protobuf') {
      root = REQUEST_TYPES[signal].decode(body) as unknown as Record<string, unknown>;
    } else {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(body);
      root = asObject(text.trim() === '' ? {} : JSON.parse(text), 'body');
    }
    return walk(signal, root);
  } catch (err) {
    if (err instanceof OtlpMalformed) throw err;
    // protobufjs (bad wire data), JSON.parse, invalid UTF-8, or a RangeError from a nesting too deep to walk.
    throw new OtlpMalformed(`The body is not a valid OTLP ${signal} request: ${(err as Error).message ?? 'decode failed'}`);
  }
}

function walk(signal: Signal, root: Record<string, unknown>): Decoded {
  switch (signal) {
    case 'traces':
      return { signal, resources: resources(root['resourceSpans'], 'scopeSpans', 'spans', span) };
    case 'logs':
      return { signal, resources: resources(root['resourceLogs'], 'scopeLogs', 'logRecords', logRecord) };
    case 'metrics':
      return { signal, resources: resources(root['resourceMetrics'], 'scopeMetrics', 'metrics', metric) };
  }
}

function resources<T>(list: unknown, scopesKey: string, itemsKey: string, read: (o: Record<string, unknown>) => T): ResourceBatch<T>[] {
  return asArray(list, 'resource list').map((r) => {
    const ro = asObject(r, 'resource entry');
    const resource = keyValues(asObject(ro['resource'], 'resource')['attributes']).attrs;
    const records: (T & { scope: string })[] = [];
    for (const s of asArray(ro[scopesKey], scopesKey)) {
      const so = asObject(s, 'scope entry');
      const scope = cleanText(asString(asObject(so['scope'], 'scope')['name'], 'scope.name'), 200);
      for (const item of asArray(so[itemsKey], itemsKey)) records.push({ ...read(asObject(item, itemsKey)), scope });
    }
    return { resource, records };
  });
}

function span(o: Record<string, unknown>): SpanIn {
  const status = asObject(o['status'], 'status');
  return {
    traceId: asId(o['traceId'], 16, 'traceId'),
    spanId: asId(o['spanId'], 8, 'spanId'),
    name: cleanText(asString(o['name'], 'name'), 200),
    startNs: asNanos(o['startTimeUnixNano'], 'startTimeUnixNano'),
    endNs: asNanos(o['endTimeUnixNano'], 'endTimeUnixNano'),
    attributes: keyValues(o['attributes']).attrs,
    statusCode: asEnum(status['code'], STATUS_CODE, 'status.code'),
    statusMessage: cleanText(asString(status['message'], 'status.message')),
  };
}

function logRecord(o: Record<string, unknown>): LogIn {
  return {
    timeNs: asNanos(o['timeUnixNano'], 'timeUnixNano'),
    observedNs: asNanos(o['observedTimeUnixNano'], 'observedTimeUnixNano'),
    severityNumber: asEnum(o['severityNumber'], SEVERITY, 'severityNumber'),
    severityText: cleanText(asString(o['severityText'], 'severityText'), 50),
    body: has(o, 'body') && o['body'] !== null ? anyValue(o['body']) : null,
    attributes: keyValues(o['attributes']).attrs,
    eventName: cleanText(asString(o['eventName'], 'eventName'), 200),
    traceId: asId(o['traceId'], 16, 'traceId'),
    spanId: asId(o['spanId'], 8, 'spanId'),
  };
}

function numberPoint(o: Record<string, unknown>): PointIn | undefined {
  const base = {
    attributes: keyValues(o['attributes']).attrs,
    startNs: asNanos(o['startTimeUnixNano'], 'startTimeUnixNano'),
    timeNs: asNanos(o['timeUnixNano'], 'timeUnixNano'),
  };
  if (has(o, 'asDouble')) {
    const d = o['asDouble'];
    const v = typeof d === 'string' ? Number(d) : d;
    if (typeof v !== 'number') throw new OtlpMalformed('asDouble must be a number');
    return Number.isFinite(v) ? { ...base, value: v } : undefined;
  }
  if (has(o, 'asInt')) return { ...base, value: Number(asBigIntSigned(o['asInt'])) };
  return undefined; // a point with no recorded value
}

const asBigIntSigned = (v: unknown): bigint => {
  if (typeof v === 'string' && /^-\d+$/.test(v)) return BigInt(v);
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return BigInt.asIntN(64, asNanos(v, 'asInt'));
};

function metric(o: Record<string, unknown>): MetricIn {
  const name = cleanText(asString(o['name'], 'name'), 200);
  const unit = cleanText(asString(o['unit'], 'unit'), 50);
  const base = { name, unit };
  if (has(o, 'gauge') || has(o, 'sum')) {
    const isSum = has(o, 'sum');
    const data = asObject(o[isSum ? 'sum' : 'gauge'], 'data');
    const raw = asArray(data['dataPoints'], 'dataPoints');
    const points = raw.map((p) => numberPoint(asObject(p, 'dataPoint'))).filter((p): p is PointIn => p !== undefined);
    const temporality = isSum ? asEnum(data['aggregationTemporality'], TEMPORALITY, 'aggregationTemporality') : 0;
    return { ...base, kind: isSum ? 'sum' : 'gauge', temporality, points, pointCount: raw.length };
  }
  if (has(o, 'histogram')) {
    const data = asObject(o['histogram'], 'histogram');
    const raw = asArray(data['dataPoints'], 'dataPoints');
    const points: PointIn[] = [];
    for (const p of raw) {
      const po = asObject(p, 'dataPoint');
      const sum = po['sum'];
      // A histogram is kept as its running sum (the count of observations is in `count`, not stored).
      if (typeof sum === 'number' && Number.isFinite(sum)) {
        points.push({
          attributes: keyValues(po['attributes']).attrs,
          startNs: asNanos(po['startTimeUnixNano'], 'startTimeUnixNano'),
          timeNs: asNanos(po['timeUnixNano'], 'timeUnixNano'),
          value: sum,
        });
      }
    }
    const temporality = asEnum(data['aggregationTemporality'], TEMPORALITY, 'aggregationTemporality');
    return { ...base, kind: 'histogram', temporality, points, pointCount: raw.length };
  }
  const other = o['exponentialHistogram'] ?? o['summary'];
  const count =
    other && typeof other === 'object' && !(other instanceof Uint8Array)
      ? asArray(asObject(other, 'data')['dataPoints'], 'dataPoints').length
      : 1;
  return { ...base, kind: 'unsupported', temporality: 0, points: [], pointCount: count };
}
