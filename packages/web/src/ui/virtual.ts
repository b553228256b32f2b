export interface WindowInput {
  scrollTop: number;
  viewportHeight: number;
  rowHeight: number;
  count: number;
  /** Rows drawn beyond each edge, so a fast scroll does not show blank space for a frame. */
  overscan: number;
}

export interface RowWindow {
  /** First row drawn (inclusive) and last (exclusive). */
  start: number;
  end: number;
  /** Where the first drawn row sits, in pixels from the top of the list. */
  offset: number;
  /** The full list's height, so the scrollbar is true to the whole list. */
  height: number;
}

/**
 * Which rows of a fixed-row-height list are on screen. Only these are in the DOM, so 10,000 agents
 * cost as much to draw as 30.
 */
export function visibleWindow({ scrollTop, viewportHeight, rowHeight, count, overscan }: WindowInput): RowWindow {
  const height = count * rowHeight;
  const top = Math.min(Math.max(0, scrollTop), Math.max(0, height - viewportHeight));
  const first = Math.floor(top / rowHeight);
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, Math.ceil((top + viewportHeight) / rowHeight) + overscan);
  return { start, end: Math.max(start, end), offset: start * rowHeight, height };
}
