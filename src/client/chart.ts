/**
 * The dashboard's line charts, as SVG path data: no chart library (the page's
 * CSP allows no other host, and a few lines do). Pure functions, so they are
 * unit-tested without a browser.
 */

/** A round number at or above `n` (1, 2 or 5 times a power of ten), so an axis reads well; at least 1. */
export function niceMax(n: number): number {
  if (!(n > 1)) return 1
  const p = 10 ** Math.floor(Math.log10(n))
  for (const m of [1, 2, 5, 10]) if (m * p >= n) return m * p
  return 10 * p
}

/** Where each value goes in a `width` × `height` box: the points spread evenly left to right, 0 at the bottom, `max` at the top. */
export function chartPoints(values: readonly number[], width: number, height: number, max: number): [number, number][] {
  const step = values.length > 1 ? width / (values.length - 1) : 0
  return values.map((v, i) => [round1(i * step), round1(height - (Math.min(Math.max(v, 0), max) / max) * height)])
}

/** The `d` of a path through the points (`M x y L x y ...`), or the empty string for none. */
export function linePath(points: readonly [number, number][]): string {
  return points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x} ${y}`).join(' ')
}

/** The same line closed down to the bottom edge, for a filled area under it. */
export function areaPath(points: readonly [number, number][], height: number): string {
  const first = points[0]
  const last = points[points.length - 1]
  if (first === undefined || last === undefined) return ''
  return `${linePath(points)} L${last[0]} ${height} L${first[0]} ${height} Z`
}

function round1(n: number): number {
  return Math.round(n * 10) / 10
}
