export * from './ids.js';
export * from './resources.js';
export * from './agent.js';
export * from './heartbeat.js';
export * from './event.js';
export * from './error.js';
export * from './ingest.js';
export * from './trace.js';
