export * from './collector/index.js';
export { parseRunArgs, RUN_USAGE, RunUsageError, type RunArgs } from './run/args.js';
export { runMonitored, type RunIo } from './run/run.js';
export * from './sdk/index.js';
