/**
 * A room's publish keys in SQL, beside its log (sql-log.ts): each key with the
 * seq it was appended as and when it expires, so a resend is recognised after
 * the Durable Object hibernated, was evicted or restarted. Bounded by
 * DEDUPE_WINDOW_MS and DEDUPE_MAX_IDS like the in-memory table (dedupe.ts).
 */
import type { Appended, DedupeLimits, Once } from './room-log.ts'
import type { SqlStore } from './sql-store.ts'

const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS roomcast_dedupe (key TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL, expires INTEGER NOT NULL)',
  'CREATE INDEX IF NOT EXISTS roomcast_dedupe_expires ON roomcast_dedupe (expires)',
]
/** Expired keys are swept at most this often; until then a lookup skips them by their `expires`. */
const SWEEP_EVERY_MS = 1000

/** The dedupe table of one room in SQL. Created on the first publish with an id, so rooms without ids write nothing. */
export class SqlDedupe {
  private ready = false
  /** Rows in the table (expired ones not yet swept included). */
  private count = 0
  private nextSweep = 0

  constructor(
    private readonly sql: SqlStore,
    private readonly limits: DedupeLimits,
  ) {}

  /** The earlier append of `once.key` at `now`, as a duplicate result; undefined if there is none within the window. */
  find(once: Once, now: number): Appended | undefined {
    this.open()
    const [row] = Array.from(this.sql.exec('SELECT seq, hash FROM roomcast_dedupe WHERE key = ? AND expires > ?', once.key, now))
    if (row === undefined) return undefined
    return { seq: Number(row.seq), duplicate: true, mismatch: String(row.hash) !== once.hash }
  }

  /** Remember `once.key` as appended at `seq` at `now`: expired keys are swept now and then, and past DEDUPE_MAX_IDS the oldest go. */
  remember(once: Once, seq: number, now: number): void {
    this.open()
    const expires = now + this.limits.dedupeWindowMs
    // A key whose window ended may still have its row (between sweeps): it is taken over, not counted twice.
    const [had] = Array.from(this.sql.exec('SELECT 1 AS n FROM roomcast_dedupe WHERE key = ?', once.key))
    this.sql.exec(
      'INSERT INTO roomcast_dedupe (key, seq, hash, expires) VALUES (?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, expires = excluded.expires',
      once.key,
      seq,
      once.hash,
      expires,
    )
    if (had === undefined) this.count++
    if (now >= this.nextSweep) {
      this.nextSweep = now + SWEEP_EVERY_MS
      this.sql.exec('DELETE FROM roomcast_dedupe WHERE expires <= ?', now)
      this.count = this.rows()
    }
    if (this.count > this.limits.dedupeMaxIds) {
      const over = this.count - this.limits.dedupeMaxIds
      this.sql.exec('DELETE FROM roomcast_dedupe WHERE key IN (SELECT key FROM roomcast_dedupe ORDER BY expires LIMIT ?)', over)
      this.count -= over
    }
  }

  /** Create the table if this storage has none yet (a room from before dedupe has its log but no table), and count it. */
  private open(): void {
    if (this.ready) return
    for (const q of SCHEMA) this.sql.exec(q)
    this.count = this.rows()
    this.ready = true
  }

  private rows(): number {
    const [r] = Array.from(this.sql.exec('SELECT COUNT(*) AS n FROM roomcast_dedupe'))
    return Number(r?.n ?? 0)
  }
}
