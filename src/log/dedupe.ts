/**
 * The publish keys one room remembers in memory: each with the seq it was
 * appended as, for `DEDUPE_WINDOW_MS`, and at most `DEDUPE_MAX_IDS` of them
 * (the oldest forgotten first). The SQL and Redis logs keep the same table in
 * their own storage.
 */
import type { Appended, DedupeLimits, Once } from './room-log.ts'

interface Remembered {
  seq: number
  hash: string
  /** Unix ms after which the key is forgotten. */
  expires: number
}

/** A bounded, expiring map of publish keys to seqs. */
export class DedupeTable {
  /** In insertion order, which is expiry order too: every key lives the same window. */
  private readonly keys = new Map<string, Remembered>()

  constructor(private readonly limits: DedupeLimits) {}

  /** Keys remembered now (expired ones not yet swept included). */
  get size(): number {
    return this.keys.size
  }

  /** The earlier append of `once.key` at `now`, as a duplicate result; undefined if there is none within the window. */
  find(once: Once, now: number): Appended | undefined {
    this.sweep(now)
    const r = this.keys.get(once.key)
    if (r === undefined || r.expires <= now) return undefined
    return { seq: r.seq, duplicate: true, mismatch: r.hash !== once.hash }
  }

  /** Remember `once.key` as appended at `seq` at `now`; past DEDUPE_MAX_IDS the oldest key goes. */
  remember(once: Once, seq: number, now: number): void {
    // Deleted first, so a key taken again moves to the end of the insertion order.
    this.keys.delete(once.key)
    this.keys.set(once.key, { seq, hash: once.hash, expires: now + this.limits.dedupeWindowMs })
    while (this.keys.size > this.limits.dedupeMaxIds) {
      const oldest = this.keys.keys().next()
      if (oldest.done === true) break
      this.keys.delete(oldest.value)
    }
  }

  /** Forget everything (the room's log is dropped). */
  clear(): void {
    this.keys.clear()
  }

  /** Forget the keys whose window ended: the oldest first, so this stops at the first live one. */
  private sweep(now: number): void {
    for (const [key, r] of this.keys) {
      if (r.expires > now) return
      this.keys.delete(key)
    }
  }
}
