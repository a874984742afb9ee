/** How long to wait before reconnect attempt `attempt` (0-based). */

export interface BackoffOptions {
  /** Upper bound of the first delay. */
  initialDelayMs: number
  /** No delay is longer than this. */
  maxDelayMs: number
}

/**
 * Exponential backoff with "equal jitter": the bound doubles per attempt up to
 * `maxDelayMs`, and the delay is uniform in its upper half. The random half
 * spreads clients out after a server restart; the fixed half keeps a failing
 * client from retrying in a tight loop.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const bound = Math.min(opts.maxDelayMs, opts.initialDelayMs * 2 ** Math.min(attempt, 30))
  return Math.round(bound / 2 + random() * (bound / 2))
}
