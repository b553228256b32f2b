/**
 * List answers carry heavy fields cut to a preview; the item's own route has them whole. The cut is
 * made in SQL, so a page of rows that each hold a megabyte (written before the write limits, or by
 * a future field) is never read into the hub's memory at full size.
 */

/** Characters of a long text field, or of a JSON field's text, a list answer carries. */
export const PREVIEW_CHARS = 1024;

/** Names the fields of one list row that were cut; absent when nothing was. */
export interface Truncatable {
  /** Fields shortened (text) or left out as `{}` (JSON) in this list answer; the item's own route has them whole. */
  truncated?: string[];
}

const LENGTH_SUFFIX = '__chars';

/** Select expressions for a text column cut to PREVIEW_CHARS, with its full length alongside. */
export const textPreview = (column: string): string =>
  `substr(${column}, 1, ${PREVIEW_CHARS}) AS ${column}, length(${column}) AS ${column}${LENGTH_SUFFIX}`;

/** A JSON column whose text is longer than PREVIEW_CHARS comes back NULL (the columns are NOT NULL, so NULL means cut). */
export const jsonPreview = (column: string): string =>
  `CASE WHEN length(CAST(${column} AS TEXT)) > ${PREVIEW_CHARS} THEN NULL ELSE ${column} END AS ${column}`;

export interface PreviewColumns {
  text: readonly string[];
  json: readonly string[];
}

/**
 * Reads a row selected with `textPreview`/`jsonPreview`: drops the length columns, replaces a cut
 * JSON field by `{}`, and lists what was cut in `truncated`.
 */
export function fromPreview<T extends object>(row: T, columns: PreviewColumns): T & Truncatable {
  const r = { ...row } as Record<string, unknown>;
  const truncated: string[] = [];
  for (const c of columns.text) {
    const chars = r[c + LENGTH_SUFFIX];
    delete r[c + LENGTH_SUFFIX];
    if (chars !== null && chars !== undefined && Number(chars) > PREVIEW_CHARS) truncated.push(c);
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
