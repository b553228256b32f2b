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

/**
 * Most bytes of items one list page carries. Rows already come with their heavy fields cut to a
 * preview, but 500 of them may still be megabytes; past this the page ends early, says so with
 * `bytes_limited: true`, and its `next_cursor` continues where it stopped.
 */
export const PAGE_BYTES = 1024 * 1024;

/**
 * The longest prefix of `items` that fits PAGE_BYTES as JSON (always at least one item, which the
 * previews bound), and the cursor that continues after it.
 */
export function fitPage<T, C>(
  items: readonly T[],
  next: C | null,
  cursorOf: (item: T) => C,
  budget: number = PAGE_BYTES,
): { items: T[]; next: C | null; bytesLimited: boolean } {
  let used = 2;
  for (let i = 0; i < items.length; i++) {
    used += Buffer.byteLength(JSON.stringify(items[i])) + 1;
    if (used > budget && i > 0) return { items: items.slice(0, i), next: cursorOf(items[i - 1] as T), bytesLimited: true };
  }
  return { items: [...items], next, bytesLimited: false };
}
