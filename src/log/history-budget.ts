/**
 * One instance's budget of history bytes across all its rooms' memory logs
 * (HISTORY_TOTAL_BYTES). The logs are kept in least-recently-used order on an
 * intrusive list, so a publish costs O(1): one relink, one sum, and, past the
 * budget, the oldest entries of the least recently used rooms dropped (each
 * entry is dropped at most once, so that is O(1) amortised). Nothing here runs
 * per recipient.
 */

/** A log whose oldest entries the budget may drop; the budget keeps its place in the use order on it. */
export interface Budgeted {
  /** Drop the oldest entry this log keeps; the bytes it held, or 0 when it keeps nothing. */
  dropOldest(): number
  /** Less recently used neighbour (toward the first to be trimmed); the budget's to set. */
  usedBefore: Budgeted | null
  /** More recently used neighbour; the budget's to set. */
  usedAfter: Budgeted | null
}

/** The history bytes of every memory log of one instance, and the order in which they were last used. */
export class HistoryBudget {
  private total = 0
  /** Least recently used: trimmed first. */
  private first: Budgeted | null = null
  /** Most recently used. */
  private last: Budgeted | null = null

  constructor(readonly limit: number) {}

  /** Bytes held across the logs. */
  get bytes(): number {
    return this.total
  }

  /** `log` was used now (an append, a replay), holding `grown` bytes more; past the limit, trim. */
  use(log: Budgeted, grown = 0): void {
    if (this.last !== log) {
      this.unlink(log)
      log.usedBefore = this.last
      if (this.last !== null) this.last.usedAfter = log
      else this.first = log
      this.last = log
    }
    this.total += grown
    if (this.total > this.limit) this.trim()
  }

  /** `log` dropped `bytes` by itself (its own HISTORY_MESSAGES or HISTORY_BYTES). */
  release(bytes: number): void {
    this.total -= bytes
  }

  /** `log` closed, holding `bytes`: forget it. */
  remove(log: Budgeted, bytes: number): void {
    this.unlink(log)
    this.total -= bytes
  }

  /** Drop the oldest entries of the least recently used logs until the total is within the limit. */
  private trim(): void {
    while (this.total > this.limit && this.first !== null) {
      const log = this.first
      const freed = log.dropOldest()
      // An empty log leaves the order; its next append puts it back, as the most recently used.
      if (freed === 0) this.unlink(log)
      else this.total -= freed
    }
  }

  private unlink(log: Budgeted): void {
    const { usedBefore: before, usedAfter: after } = log
    if (before === null && after === null && this.first !== log) return
    if (before !== null) before.usedAfter = after
    else this.first = after
    if (after !== null) after.usedBefore = before
    else this.last = before
    log.usedBefore = null
    log.usedAfter = null
  }
}
