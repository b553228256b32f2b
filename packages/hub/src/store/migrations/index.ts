import { initialSchema } from './0001_initial_schema.js';
import type { Migration } from './types.js';

/** Every migration, oldest first. Append; never edit one that has shipped. */
export const MIGRATIONS: readonly Migration[] = [initialSchema];
