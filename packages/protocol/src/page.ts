import { Type, type TArray, type TSchema } from 'typebox';

/**
 * `Page<T>`: one page of a list the API answers, `{<items>: T[], next_cursor, bytes_limited}`.
 * `next_cursor` is what the next request passes (`before=` or `after=`), null on the last page;
 * `bytes_limited` is true when the page ended early to stay under the byte bound, not the count.
 */
export function Page<K extends string, T extends TSchema, C extends TSchema>(key: K, item: T, cursor: C, description?: string) {
  return Type.Object(
    {
      ...({ [key]: Type.Array(item) } as { [P in K]: TArray<T> }),
      next_cursor: Type.Union([cursor, Type.Null()], { description: 'Pass back to read the next page; null on the last one' }),
      bytes_limited: Type.Boolean({ description: 'The page ended early to stay under the byte bound; next_cursor continues it' }),
    },
    { additionalProperties: false, ...(description ? { description } : {}) },
  );
}

/** A list paged by count only (its items are small): `{<items>: T[], next_cursor}`. */
export function CursorList<K extends string, T extends TSchema, C extends TSchema>(key: K, item: T, cursor: C) {
  return Type.Object(
    {
      ...({ [key]: Type.Array(item) } as { [P in K]: TArray<T> }),
      next_cursor: Type.Union([cursor, Type.Null()], { description: 'Pass back to read the next page; null on the last one' }),
    },
    { additionalProperties: false },
  );
}

/** A whole list in one answer: `{<items>: T[]}`. */
export function List<K extends string, T extends TSchema>(key: K, item: T) {
  return Type.Object({ ...({ [key]: Type.Array(item) } as { [P in K]: TArray<T> }) }, { additionalProperties: false });
}

/** One item under its name: `{<item>: T}`. */
export function One<K extends string, T extends TSchema>(key: K, item: T) {
  return Type.Object({ ...({ [key]: item } as { [P in K]: T }) }, { additionalProperties: false });
}
