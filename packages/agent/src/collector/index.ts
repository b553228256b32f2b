export type * from './types.js';
export { Collector, type CollectorOptions } from './collector.js';
export { toProcessMetrics, toResources } from './heartbeat.js';
export { parsePid } from './proc-parse.js';
