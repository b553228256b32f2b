export { VigilClient, type CloseOptions, type VigilClientStats } from './client.js';
export { VigilClientError, type ClientErrorCode } from './errors.js';
export type { CollectedResources, VigilClientOptions } from './options.js';
export type { ItemKind, KindCounts } from './buffer.js';
export type { TraceInput } from './items.js';
