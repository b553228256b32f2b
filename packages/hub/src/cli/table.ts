/** One column of a terminal table: its heading, its cell, and whether it holds numbers (right-aligned). */
export interface Column<T> {
  head: string;
  cell: (row: T) => string;
  numeric?: boolean;
}

/** Rows as aligned columns under their headings, two spaces apart; the last column is not padded. */
export function table<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = [columns.map((c) => c.head), ...rows.map((r) => columns.map((c) => oneLine(c.cell(r))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => (line[i] as string).length)));
  return cells
    .map((line) =>
      line
        .map((cell, i) => {
          if (i === line.length - 1 && !columns[i]?.numeric) return cell;
          return columns[i]?.numeric ? cell.padStart(widths[i] as number) : cell.padEnd(widths[i] as number);
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

/** `label: value` lines with the values aligned, for one object (vigil agent ID). */
export function fields(pairs: readonly (readonly [string, string])[]): string {
  const width = Math.max(...pairs.map(([label]) => label.length)) + 1;
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${oneLine(value)}`).join('\n') + '\n';
}

/** A table cell is one line: newlines and tabs (a stack trace, a message) would break the columns. */
export function oneLine(text: string, max = 80): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** How long ago, in the largest whole unit: `45s ago`, `3m ago`, `5h ago`, `2d ago`; `-` for never. */
export function ago(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined) return '-';
  const s = Math.max(0, Math.round((now - at) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

/** A number for a table: `-` when absent, at most `digits` decimals, no trailing zeros. */
export function num(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '-';
  return String(Number(n.toFixed(digits)));
}

/** Dollars with cents, or four decimals under a cent (one LLM call often costs less). */
export function usd(n: number | null | undefined): string {
  if (n === null || n === undefined) return '-';
  return `$${n !== 0 && Math.abs(n) < 0.01 ? n.toFixed(4) : n.toFixed(2)}`;
}

/** Writes `items` as JSON (--json, for scripts) or as a table, with `empty` when there are none. */
export function print<T>(
  out: NodeJS.WritableStream,
  json: boolean | undefined,
  items: readonly T[],
  columns: readonly Column<T>[],
  empty: string,
): void {
  if (json) out.write(`${JSON.stringify(items, null, 2)}\n`);
  else out.write(items.length === 0 ? `${empty}\n` : table(items, columns));
}
