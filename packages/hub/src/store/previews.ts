import type { Dialect, SqlExecutor } from './db.js';

/**
 * List answers carry heavy fields cut to a preview; the item's own route has them whole. The cut is
 * made in SQL, so a page of rows that each hold a megabyte (written before the write limits, or by
 * a future field) is never read into the hub's memory at full size.
 */

/** Characters of a long text field, or bytes of a JSON field's text, a list answer carries. */
export const PREVIEW_CHARS = 1024;

/** What a list query needs: SQL, and the dialect that measures a JSON column. */
export type ListReader = SqlExecutor & { readonly dialect: Dialect };

/** Names the fields of one list row that were cut; absent when nothing was. */
export interface Truncatable {
  /** Fields shortened (text) or left out as `{}` (JSON) in this list answer; the item's own route has them whole. */
  truncated?: string[];
}

/**
 * A text column cut to one character more than PREVIEW_CHARS: the extra one tells a cut text from
 * one that fits exactly, without a length() that would read the value a second time.
 */
export const textPreview = (column: string): string => `substr(${column}, 1, ${PREVIEW_CHARS + 1}) AS ${column}`;

/** A JSON column whose text is longer than PREVIEW_CHARS bytes comes back NULL (the columns are NOT NULL, so NULL means cut). */
export const jsonPreview = (column: string, dialect: Dialect): string =>
  `CASE WHEN ${dialect.jsonBytes(column)} > ${PREVIEW_CHARS} THEN NULL ELSE ${column} END AS ${column}`;

export interface PreviewColumns {
  text: readonly string[];
  json: readonly string[];
}

/**
 * Reads a row selected with `textPreview`/`jsonPreview`: trims a cut text to PREVIEW_CHARS
 * characters (code points, as the databases count them), replaces a cut JSON field by `{}`, and
 * lists what was cut in `truncated`.
 */
export function fromPreview<T extends object>(row: T, columns: PreviewColumns): T & Truncatable {
  const r = { ...row } as Record<string, unknown>;
  const truncated: string[] = [];
  for (const c of columns.text) {
    const text = r[c];
    // Fewer UTF-16 units than the preview means fewer characters too: nothing to count.
    if (typeof text !== 'string' || text.length <= PREVIEW_CHARS) continue;
    const chars = [...text];
    if (chars.length > PREVIEW_CHARS) {
      r[c] = chars.slice(0, PREVIEW_CHARS).join('');
      truncated.push(c);
    }
  }
  for (const c of columns.json) {
    if (r[c] === null || r[c] === undefined) {
      r[c] = '{}';
      truncated.push(c);
    }
  }
  if (truncated.length > 0) r.truncated = truncated;
  return r as T & Truncatable;
}
