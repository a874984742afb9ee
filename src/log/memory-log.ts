/** The RoomLog of one room in one process: seq, epoch, a bounded history and the dedupe table in memory. */
import { DedupeTable } from './dedupe.ts'
import type { Draft, Entry } from './entry.ts'
import { entryBytes } from './entry.ts'
import type { Budgeted } from './history-budget.ts'
import { HistoryBudget } from './history-budget.ts'
import type { Appended, Head, LogFactory, LogLimits, Once, Replay, RoomLog, RoomSink } from './room-log.ts'
import { dedupeLimits, newEpoch, replayFrom } from './room-log.ts'

/** The in-memory log of one room in one process. */
export class MemoryLog implements RoomLog, Budgeted {
  private seq = 0
  private readonly epoch = newEpoch()
  private entries: Entry[] = []
  private start = 0
  private bytes = 0
  /** The budget's link to the log used just before this one. */
  usedBefore: Budgeted | null = null
  /** The budget's link to the log used just after this one. */
  usedAfter: Budgeted | null = null
  private readonly dedupe: DedupeTable

  constructor(
    private readonly sink: RoomSink,
    private readonly limits: LogLimits,
    /** The instance's history budget across rooms, when there is one. */
    private readonly budget?: HistoryBudget,
  ) {
    this.dedupe = new DedupeTable(dedupeLimits(limits))
  }

  head(): Promise<Head> {
    return Promise.resolve({ seq: this.seq, epoch: this.epoch })
  }

  append(draft: Draft): Promise<number> {
    const entry = draft as Entry
    entry.seq = ++this.seq
    this.keep(entry)
    this.sink.deliver(entry)
    return Promise.resolve(entry.seq)
  }

  appendOnce(draft: Draft, once: Once): Promise<Appended> {
    // The room's clock stamped the draft: the window runs on the same time as everything else in the room.
    const earlier = this.dedupe.find(once, draft.ts)
    if (earlier !== undefined) return Promise.resolve(earlier)
    const entry = draft as Entry
    entry.seq = ++this.seq
    this.keep(entry)
    this.dedupe.remember(once, entry.seq, draft.ts)
    this.sink.deliver(entry)
    return Promise.resolve({ seq: entry.seq, duplicate: false, mismatch: false })
  }

  replay(since: number, epoch: string | undefined): Promise<Replay> {
    if (this.bytes > 0) this.budget?.use(this)
    const retained = this.start === 0 ? this.entries : this.entries.slice(this.start)
    return Promise.resolve(replayFrom(retained, { seq: this.seq, epoch: this.epoch }, since, epoch))
  }

  historyBytes(): number {
    return this.bytes
  }

  members(local: number): number {
    return local
  }

  clear(): Promise<void> {
    this.close()
    return Promise.resolve()
  }

  close(): void {
    this.dedupe.clear()
    this.budget?.remove(this, this.bytes)
    this.entries = []
    this.start = 0
    this.bytes = 0
  }

  /** Drop the oldest entry kept; the bytes it held (0: nothing kept). A resume from before it then says complete:false. */
  dropOldest(): number {
    const oldest = this.entries[this.start]
    if (oldest === undefined) return 0
    const size = entryBytes(oldest)
    this.bytes -= size
    this.entries[this.start++] = undefined as unknown as Entry
    // Compact now and then instead of shifting on every drop.
    if (this.start === this.entries.length) {
      this.entries = []
      this.start = 0
    } else if (this.start > 1024 && this.start * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.start)
      this.start = 0
    }
    return size
  }

  private keep(entry: Entry): void {
    const size = entryBytes(entry)
    this.entries.push(entry)
    this.bytes += size
    const { historyMessages, historyBytes } = this.limits
    let freed = 0
    while ((this.entries.length - this.start > historyMessages || this.bytes > historyBytes) && this.entries.length > this.start) freed += this.dropOldest()
    if (this.budget !== undefined) {
      this.budget.release(freed)
      this.budget.use(this, size)
    }
  }
}

/** A LogFactory for one process: every room's log in memory, all of them within one HISTORY_TOTAL_BYTES when it is set. */
export function memoryLogs(limits: LogLimits): LogFactory {
  const budget = limits.historyTotalBytes === undefined ? undefined : new HistoryBudget(limits.historyTotalBytes)
  return (_room, sink) => new MemoryLog(sink, limits, budget)
}
