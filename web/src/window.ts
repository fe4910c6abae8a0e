/**
 * Windowing for long lists: which rows of a list of fixed-height rows to render for a scroll position, and how much
 * room to leave above and below them. Pure, so that test/web runs it under Node.
 */

export interface Range {
  /** The first row rendered. */
  readonly first: number
  /** One past the last row rendered. */
  readonly last: number
  /** Pixels left empty above the first row, and below the last. */
  readonly before: number
  readonly after: number
}

/** Rows rendered beyond the visible ones on each side, so that a quick scroll shows no gap. */
export const OVERSCAN = 8

/** The rows of `count`, each `rowHeight` px, to render when `height` px are seen from `scrollTop`. */
export const visibleRange = (scrollTop: number, height: number, rowHeight: number, count: number): Range => {
  const top = Math.max(0, scrollTop)
  const first = Math.min(count, Math.max(0, Math.floor(top / rowHeight) - OVERSCAN))
  const last = Math.min(count, Math.ceil((top + Math.max(0, height)) / rowHeight) + OVERSCAN)
  const end = Math.max(first, last)
  return { first, last: end, before: first * rowHeight, after: (count - end) * rowHeight }
}

/** The scroll position that shows row `index` whole (or `scrollTop` if it already does). */
export const scrollFor = (scrollTop: number, height: number, rowHeight: number, index: number, header = 0): number => {
  const top = index * rowHeight
  const bottom = top + rowHeight
  if (top < scrollTop) return top
  if (bottom > scrollTop + height - header) return bottom - height + header
  return scrollTop
}
