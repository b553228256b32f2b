import { Type } from 'typebox';

export const DEFAULT_PAGE = 100;
/** Largest page any list returns; a bigger `limit` is capped, and the cursor gives the rest. */
export const MAX_PAGE = 500;

// Every number a query string carries is bounded in its schema: an unbounded integer such as
// `before=1e20` would pass validation and then overflow PostgreSQL's BIGINT as a 500.
export const PageQuery = {
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      description: `Page size (default ${DEFAULT_PAGE}, capped at ${MAX_PAGE})`,
    }),
  ),
};

/** Keyset cursor over row ids: `before=<id>` gives the rows older than that id. */
export const IdCursor = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'next_cursor of the previous page' });

export function pageLimit(limit: number | undefined): number {
  return Math.min(limit ?? DEFAULT_PAGE, MAX_PAGE);
}
