/**
 * A room's log in a synchronous SQL database: the Durable Object's own SQLite
 * (`ctx.storage.sql`) on Cloudflare, any SQLite elsewhere. seq, epoch and
 * history live in two tables, so a room that is evicted or restarted
 * continues its numbers and replays from storage; publish keys in a third
 * (sql-dedupe.ts), so a resend after an eviction is still recognised.
 */
import type { Draft, Entry } from './entry.ts'
import { entryBytes, parseEntry, serializeEntry } from './entry.ts'
import type { Appended, Head, HistoryLimits, LogFactory, LogLimits, Once, Replay, RoomLog, RoomSink } from './room-log.ts'
import { dedupeLimits, newEpoch, replayFrom } from './room-log.ts'
import { SqlDedupe } from './sql-dedupe.ts'
import type { SqlStore, SqlValue } from './sql-store.ts'

export type { SqlStore, SqlValue } from './sql-store.ts'

const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS roomcast_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
  'CREATE TABLE IF NOT EXISTS roomcast_log (seq INTEGER PRIMARY KEY, bytes INTEGER NOT NULL, entry TEXT NOT NULL)',
]
const SET_META = 'INSERT INTO roomcast_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'

function rows(result: Iterable<Record<string, SqlValue>>): Record<string, SqlValue>[] {
  return Array.from(result)
}

/**
 * The log of one room in SQL. Storage is the truth; the fields are a cache of
 * it, read back on open, so nothing lives only in memory. Tables are created
 * on the first member or message, so asking about a room writes nothing.
 */
export class SqlLog implements RoomLog {
  private seq = 0
  private epoch: string
  /** Entries kept, and the bytes of their bodies (for the history budget). */
  private count = 0
  private bytes = 0
  private stored: boolean
  private readonly limits: HistoryLimits
  private readonly dedupe: SqlDedupe

  constructor(
    private readonly sql: SqlStore,
    private readonly sink: RoomSink,
    limits: LogLimits,
  ) {
    this.limits = limits
    this.dedupe = new SqlDedupe(sql, dedupeLimits(limits))
    this.stored = rows(sql.exec("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'roomcast_meta'")).length > 0
    const meta = new Map<string, string>()
    if (this.stored) for (const r of rows(sql.exec('SELECT key, value FROM roomcast_meta'))) meta.set(String(r.key), String(r.value))
    this.epoch = meta.get('epoch') ?? newEpoch()
    this.seq = Number(meta.get('seq') ?? 0)
    if (this.stored) {
      const [agg = {}] = rows(sql.exec('SELECT COUNT(*) AS n, COALESCE(SUM(bytes), 0) AS b FROM roomcast_log'))
      this.count = Number(agg.n)
      this.bytes = Number(agg.b)
    }
  }

  head(): Promise<Head> {
    return Promise.resolve({ seq: this.seq, epoch: this.epoch })
  }

  append(draft: Draft): Promise<number> {
    try {
      const entry = this.write(draft, undefined)
      this.sink.deliver(entry)
      return Promise.resolve(entry.seq)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  appendOnce(draft: Draft, once: Once): Promise<Appended> {
    try {
      // One synchronous turn: a Durable Object commits the lookup, the entry and the key together.
      const earlier = this.dedupe.find(once, draft.ts)
      if (earlier !== undefined) return Promise.resolve(earlier)
      const entry = this.write(draft, once)
      this.sink.deliver(entry)
      return Promise.resolve({ seq: entry.seq, duplicate: false, mismatch: false })
    } catch (err) {
      return Promise.reject(err)
    }
  }

  replay(since: number, epoch: string | undefined): Promise<Replay> {
    // Another epoch's numbers mean nothing here: the client gets all there is.
    const after = epoch !== undefined && epoch !== this.epoch ? 0 : since
    const entries = this.stored
      ? rows(this.sql.exec('SELECT entry FROM roomcast_log WHERE seq > ? ORDER BY seq', after)).map((r) => parseEntry(String(r.entry)))
      : []
    // The rows are a contiguous tail of history, so replayFrom sees where it starts.
    return Promise.resolve(replayFrom(entries, { seq: this.seq, epoch: this.epoch }, since, epoch))
  }

  historyBytes(): number {
    return this.bytes
  }

  members(local: number): number {
    // A member holds the epoch from its welcome: keep it, or a resume after eviction would look like lost history.
    if (local > 0) this.materialise()
    return local
  }

  clear(): Promise<void> {
    try {
      if (this.stored) this.sql.exec('DELETE FROM roomcast_log')
      this.count = 0
      this.bytes = 0
      return Promise.resolve()
    } catch (err) {
      return Promise.reject(err)
    }
  }

  close(): void {}

  /** Store `draft` as the next entry (and `once`'s key with it), then update the cache; delivering is the caller's. */
  private write(draft: Draft, once: Once | undefined): Entry {
    this.materialise()
    const entry = draft as Entry
    const seq = this.seq + 1
    entry.seq = seq
    const size = entryBytes(entry)
    this.sql.exec('INSERT INTO roomcast_log (seq, bytes, entry) VALUES (?, ?, ?)', seq, size, serializeEntry(entry))
    this.sql.exec(SET_META, 'seq', String(seq))
    if (once !== undefined) this.dedupe.remember(once, seq, draft.ts)
    // Only after storage took it, so a failed write leaves the cache as storage is.
    this.seq = seq
    this.count++
    this.bytes += size
    this.trim()
    return entry
  }

  private materialise(): void {
    if (this.stored) return
    for (const q of SCHEMA) this.sql.exec(q)
    this.sql.exec(SET_META, 'epoch', this.epoch)
    this.sql.exec(SET_META, 'seq', String(this.seq))
    this.stored = true
  }

  /** Drop the oldest entries past historyMessages or historyBytes, as MemoryLog does. */
  private trim(): void {
    const { historyMessages, historyBytes } = this.limits
    let { count, bytes } = this
    const over = () => count > historyMessages || (bytes > historyBytes && count > 0)
    let cut = -1
    while (over()) {
      const oldest = rows(this.sql.exec('SELECT seq, bytes FROM roomcast_log WHERE seq > ? ORDER BY seq LIMIT ?', cut, Math.max(1, count - historyMessages)))
      if (oldest.length === 0) break
      for (const r of oldest) {
        if (!over()) break
        cut = Number(r.seq)
        count--
        bytes -= Number(r.bytes)
      }
    }
    if (cut < 0) return
    this.sql.exec('DELETE FROM roomcast_log WHERE seq <= ?', cut)
    this.count = count
    this.bytes = bytes
  }
}

/** A LogFactory over one SQL database: a Durable Object holds exactly one room. */
export function sqlLogs(sql: SqlStore, limits: LogLimits): LogFactory {
  return (_room, sink) => new SqlLog(sql, sink, limits)
}
