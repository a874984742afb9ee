/** The RoomLog of one room in one process: seq, epoch and a bounded history in memory. */
import type { Draft, Entry } from './entry.ts'
import { entryBytes } from './entry.ts'
import type { Head, HistoryLimits, LogFactory, Replay, RoomLog, RoomSink } from './room-log.ts'
import { newEpoch, replayFrom } from './room-log.ts'

/** The in-memory log of one room in one process. */
export class MemoryLog implements RoomLog {
  private seq = 0
  private readonly epoch = newEpoch()
  private entries: Entry[] = []
  private start = 0
  private bytes = 0

  constructor(
    private readonly sink: RoomSink,
    private readonly limits: HistoryLimits,
  ) {}

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

  replay(since: number, epoch: string | undefined): Promise<Replay> {
    const retained = this.start === 0 ? this.entries : this.entries.slice(this.start)
    return Promise.resolve(replayFrom(retained, { seq: this.seq, epoch: this.epoch }, since, epoch))
  }

  members(local: number): number {
    return local
  }

  close(): void {
    this.entries = []
    this.start = 0
    this.bytes = 0
  }

  private keep(entry: Entry): void {
    this.entries.push(entry)
    this.bytes += entryBytes(entry)
    const { historyMessages, historyBytes } = this.limits
    while (this.entries.length - this.start > historyMessages || this.bytes > historyBytes) {
      const oldest = this.entries[this.start]
      if (oldest === undefined) break
      this.bytes -= entryBytes(oldest)
      this.entries[this.start++] = undefined as unknown as Entry
    }
    // Compact now and then instead of shifting on every drop.
    if (this.start > 1024 && this.start * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.start)
      this.start = 0
    }
  }
}

/** A LogFactory for one process: every room's log in memory. */
export function memoryLogs(limits: HistoryLimits): LogFactory {
  return (_room, sink) => new MemoryLog(sink, limits)
}
