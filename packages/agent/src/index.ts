export * from './collector/index.js';
