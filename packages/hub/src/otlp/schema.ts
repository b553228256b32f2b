import protobuf from 'protobufjs';

/**
 * The OTLP messages Vigil reads, written here from the field numbers and types of the OTLP
 * specification (opentelemetry-proto: common/v1, resource/v1, trace/v1, metrics/v1, logs/v1 and the
 * collector services), plus google.rpc.Status. Only what the hub reads is declared: protobuf skips
 * fields a schema does not name, so newer senders still decode. Field names are the JSON mapping's
 * lowerCamelCase, so the decoded protobuf and an OTLP/JSON body have the same shape.
 *
 * Types matter: `intValue` is int64 (not sint64), times are fixed64 nanoseconds (read as Long, so
 * nothing past 2^53 is rounded), `asInt` is sfixed64, ids are bytes.
 */
type Fields = Record<string, { type: string; id: number; rule?: 'repeated' }>;

const f = (type: string, id: number): { type: string; id: number } => ({ type, id });
const many = (type: string, id: number): { type: string; id: number; rule: 'repeated' } => ({ type, id, rule: 'repeated' });
const message = (fields: Fields, oneofs?: Record<string, { oneof: string[] }>) => ({ fields, ...(oneofs ? { oneofs } : {}) });

const DESCRIPTOR = {
  nested: {
    otlp: {
      nested: {
        AnyValue: message(
          {
            stringValue: f('string', 1),
            boolValue: f('bool', 2),
            intValue: f('int64', 3),
            doubleValue: f('double', 4),
            arrayValue: f('ArrayValue', 5),
            kvlistValue: f('KeyValueList', 6),
            bytesValue: f('bytes', 7),
          },
          { value: { oneof: ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'] } },
        ),
        ArrayValue: message({ values: many('AnyValue', 1) }),
        KeyValueList: message({ values: many('KeyValue', 1) }),
        KeyValue: message({ key: f('string', 1), value: f('AnyValue', 2) }),
        InstrumentationScope: message({ name: f('string', 1), version: f('string', 2), attributes: many('KeyValue', 3) }),
        Resource: message({ attributes: many('KeyValue', 1) }),

        // trace/v1
        Status: message({ message: f('string', 2), code: f('int32', 3) }),
        SpanEvent: message({ timeUnixNano: f('fixed64', 1), name: f('string', 2), attributes: many('KeyValue', 3) }),
        Span: message({
          traceId: f('bytes', 1),
          spanId: f('bytes', 2),
          parentSpanId: f('bytes', 4),
          name: f('string', 5),
          kind: f('int32', 6),
          startTimeUnixNano: f('fixed64', 7),
          endTimeUnixNano: f('fixed64', 8),
          attributes: many('KeyValue', 9),
          events: many('SpanEvent', 11),
          status: f('Status', 15),
        }),
        ScopeSpans: message({ scope: f('InstrumentationScope', 1), spans: many('Span', 2) }),
        ResourceSpans: message({ resource: f('Resource', 1), scopeSpans: many('ScopeSpans', 2) }),

        // metrics/v1
        NumberDataPoint: message(
          {
            attributes: many('KeyValue', 7),
            startTimeUnixNano: f('fixed64', 2),
            timeUnixNano: f('fixed64', 3),
            asDouble: f('double', 4),
            asInt: f('sfixed64', 6),
            flags: f('uint32', 8),
          },
          { value: { oneof: ['asDouble', 'asInt'] } },
        ),
        HistogramDataPoint: message({
          attributes: many('KeyValue', 9),
          startTimeUnixNano: f('fixed64', 2),
          timeUnixNano: f('fixed64', 3),
          count: f('fixed64', 4),
          sum: f('double', 5),
          flags: f('uint32', 10),
        }),
        Gauge: message({ dataPoints: many('NumberDataPoint', 1) }),
        Sum: message({ dataPoints: many('NumberDataPoint', 1), aggregationTemporality: f('int32', 2), isMonotonic: f('bool', 3) }),
        Histogram: message({ dataPoints: many('HistogramDataPoint', 1), aggregationTemporality: f('int32', 2) }),
        Metric: message(
          {
            name: f('string', 1),
            description: f('string', 2),
            unit: f('string', 3),
            gauge: f('Gauge', 5),
            sum: f('Sum', 7),
            histogram: f('Histogram', 9),
            // Exponential histograms (10) and summaries (11) are counted as rejected, not decoded.
            exponentialHistogram: f('bytes', 10),
            summary: f('bytes', 11),
          },
          { data: { oneof: ['gauge', 'sum', 'histogram', 'exponentialHistogram', 'summary'] } },
        ),
        ScopeMetrics: message({ scope: f('InstrumentationScope', 1), metrics: many('Metric', 2) }),
        ResourceMetrics: message({ resource: f('Resource', 1), scopeMetrics: many('ScopeMetrics', 2) }),

        // logs/v1
        LogRecord: message({
          timeUnixNano: f('fixed64', 1),
          observedTimeUnixNano: f('fixed64', 11),
          severityNumber: f('int32', 2),
          severityText: f('string', 3),
          body: f('AnyValue', 5),
          attributes: many('KeyValue', 6),
          traceId: f('bytes', 9),
          spanId: f('bytes', 10),
          eventName: f('string', 12),
        }),
        ScopeLogs: message({ scope: f('InstrumentationScope', 1), logRecords: many('LogRecord', 2) }),
        ResourceLogs: message({ resource: f('Resource', 1), scopeLogs: many('ScopeLogs', 2) }),

        // collector/{trace,metrics,logs}/v1
        ExportTraceServiceRequest: message({ resourceSpans: many('ResourceSpans', 1) }),
        ExportMetricsServiceRequest: message({ resourceMetrics: many('ResourceMetrics', 1) }),
        ExportLogsServiceRequest: message({ resourceLogs: many('ResourceLogs', 1) }),
        // The three partial-success messages share one layout: a rejected count (int64, 1) and a message (2).
        ExportPartialSuccess: message({ rejected: f('int64', 1), errorMessage: f('string', 2) }),
        ExportServiceResponse: message({ partialSuccess: f('ExportPartialSuccess', 1) }),

        // google.rpc.Status (details are never sent, so google.protobuf.Any is not declared).
        RpcStatus: message({ code: f('int32', 1), message: f('string', 2) }),
      },
    },
  },
};

const root = protobuf.Root.fromJSON(DESCRIPTOR);
const type = (name: string): protobuf.Type => root.lookupType(`otlp.${name}`);

export const ExportTraceServiceRequest = type('ExportTraceServiceRequest');
export const ExportMetricsServiceRequest = type('ExportMetricsServiceRequest');
export const ExportLogsServiceRequest = type('ExportLogsServiceRequest');
export const ExportServiceResponse = type('ExportServiceResponse');
export const RpcStatus = type('RpcStatus');
