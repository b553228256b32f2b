import { Type } from 'typebox';

export const DEFAULT_PAGE = 100;
/** Largest page any list returns; a bigger `limit` is capped, and the cursor gives the rest. */
export const MAX_PAGE = 500;

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, description: `Page size (default ${DEFAULT_PAGE}, capped at ${MAX_PAGE})` })),
};

export function pageLimit(limit: number | undefined): number {
  return Math.min(limit ?? DEFAULT_PAGE, MAX_PAGE);
}
