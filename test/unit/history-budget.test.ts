import { describe, expect, it } from 'vitest'
import type { Budgeted, Draft, Entry, RoomSink } from '../../src/index.ts'
import { HistoryBudget, MemoryLog, memoryLogs } from '../../src/index.ts'

/** A log of fixed-size entries, for the budget alone. */
class FakeLog implements Budgeted {
  usedBefore: Budgeted | null = null
  usedAfter: Budgeted | null = null
  dropped = 0
  constructor(
    readonly name: string,
    public kept: number[] = [],
  ) {}
  dropOldest(): number {
    const size = this.kept.shift()
    if (size === undefined) return 0
    this.dropped++
    return size
  }
}

const sink = (): RoomSink & { got: Entry[] } => {
  const got: Entry[] = []
  return { got, deliver: (e) => void got.push(e), membersChanged: () => {}, lost: () => {} }
}
const draft = (body: string): Draft => ({ kind: 'text', body, ts: 1 })
const limits = (historyTotalBytes: number) => ({ historyMessages: 1000, historyBytes: 1_000_000, historyTotalBytes })

describe('HistoryBudget', () => {
  it('sums what the logs hold and trims nothing within the limit', () => {
    const budget = new HistoryBudget(100)
    const a = new FakeLog('a', [40])
    const b = new FakeLog('b', [60])
    budget.use(a, 40)
    budget.use(b, 60)
    expect(budget.bytes).toBe(100)
    expect(a.dropped + b.dropped).toBe(0)
  })

  it('past the limit, drops the oldest entries of the least recently used log first', () => {
    const budget = new HistoryBudget(100)
    const a = new FakeLog('a', [30, 30])
    const b = new FakeLog('b', [30])
    budget.use(a, 60)
    budget.use(b, 30)
    budget.use(a) // a used again: b is now the least recently used
    b.kept.push(30)
    budget.use(b, 30) // 120 > 100; b is the most recent now, so a (used before it) gives up its oldest
    expect(a.kept).toEqual([30])
    expect(b.kept).toEqual([30, 30])
    expect(budget.bytes).toBe(90)
  })

  it('moves on to the next least recently used log once one is empty, and forgets the empty one', () => {
    const budget = new HistoryBudget(50)
    const a = new FakeLog('a', [20])
    const b = new FakeLog('b', [20])
    const c = new FakeLog('c', [])
    budget.use(a, 20)
    budget.use(b, 20)
    c.kept.push(50)
    budget.use(c, 50) // 90 > 50: all of a, then all of b
    expect([a.kept, b.kept, c.kept]).toEqual([[], [], [50]])
    expect(budget.bytes).toBe(50)
    // a left the order: the next trim does not ask it again.
    a.dropped = 0
    c.kept.push(10)
    budget.use(c, 10)
    expect(a.dropped).toBe(0)
    expect(c.kept).toEqual([10])
  })

  it('trims the log being appended to when it alone is over the limit', () => {
    const budget = new HistoryBudget(50)
    const a = new FakeLog('a', [30, 30])
    budget.use(a, 60)
    expect(a.kept).toEqual([30])
    expect(budget.bytes).toBe(30)
  })

  it('forgets a closed log and the bytes it held', () => {
    const budget = new HistoryBudget(100)
    const a = new FakeLog('a', [40])
    const b = new FakeLog('b', [40])
    budget.use(a, 40)
    budget.use(b, 40)
    budget.remove(a, 40)
    expect(budget.bytes).toBe(40)
    b.kept.push(70)
    budget.use(b, 70)
    expect(a.dropped).toBe(0)
    expect(b.kept).toEqual([70])
  })

  it('stays within the limit over many appends across many logs, each entry dropped at most once', () => {
    const budget = new HistoryBudget(10_000)
    const logs = Array.from({ length: 1000 }, (_, i) => new FakeLog(String(i)))
    let appended = 0
    let most = 0
    for (let i = 0; i < 200_000; i++) {
      const log = logs[(i * 7919) % logs.length] as FakeLog
      log.kept.push(10)
      budget.use(log, 10)
      appended++
      most = Math.max(most, budget.bytes)
    }
    expect(most).toBeLessThanOrEqual(10_000)
    const dropped = logs.reduce((n, l) => n + l.dropped, 0)
    const kept = logs.reduce((n, l) => n + l.kept.length, 0)
    expect(dropped + kept).toBe(appended)
    expect(kept * 10).toBe(budget.bytes)
  })
})

describe('memory logs under HISTORY_TOTAL_BYTES', () => {
  it('keep the total across rooms within the budget, trimming the rooms used least recently', async () => {
    const logs = memoryLogs(limits(100))
    const [quiet, busy] = [logs('quiet', sink()), logs('busy', sink())]
    await quiet.append(draft('q'.repeat(40)))
    for (let i = 0; i < 3; i++) await busy.append(draft('b'.repeat(20)))
    // 100 bytes: nothing trimmed yet.
    expect((await quiet.replay(0, undefined)).complete).toBe(true)
    await busy.append(draft('b'.repeat(20)))
    // 120: the quiet room, used least recently, loses its one entry; the busy room keeps all four.
    const q = await quiet.replay(0, undefined)
    expect(q).toMatchObject({ seq: 1, entries: [], complete: false })
    const b = await busy.replay(0, undefined)
    expect(b.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4])
    expect(b.complete).toBe(true)
  })

  it('resume after trimming reports complete:false and replays what is left, in order', async () => {
    const logs = memoryLogs(limits(50))
    const a = logs('a', sink())
    const b = logs('b', sink())
    for (let i = 0; i < 4; i++) await a.append(draft('a'.repeat(10)))
    // b's publish makes 60 of 50: a's oldest goes, and only as much as needed.
    await b.append(draft('b'.repeat(20)))
    const r = await a.replay(0, undefined)
    expect(r.entries.map((e) => e.seq)).toEqual([2, 3, 4])
    expect(r.complete).toBe(false)
    // A resume from what is still there is complete.
    expect((await a.replay(1, undefined)).complete).toBe(true)
  })

  it('count a replay as use, so a room being resumed from is trimmed after rooms no one reads', async () => {
    const logs = memoryLogs(limits(60))
    const read = logs('read', sink())
    const unread = logs('unread', sink())
    await read.append(draft('r'.repeat(20)))
    await unread.append(draft('u'.repeat(20)))
    await read.replay(0, undefined)
    const other = logs('other', sink())
    await other.append(draft('o'.repeat(30)))
    expect((await unread.replay(0, undefined)).entries).toEqual([])
    expect((await read.replay(0, undefined)).entries.length).toBe(1)
  })

  it('give a closed room’s bytes back to the budget', async () => {
    const logs = memoryLogs(limits(50))
    const a = logs('a', sink())
    const b = logs('b', sink())
    await a.append(draft('a'.repeat(40)))
    a.close()
    await b.append(draft('b'.repeat(40)))
    expect((await b.replay(0, undefined)).complete).toBe(true)
  })

  it('still apply each room’s own HISTORY_MESSAGES and HISTORY_BYTES, and deliver every entry whatever is trimmed', async () => {
    const s = sink()
    const log = new MemoryLog(s, { historyMessages: 2, historyBytes: 1_000_000 }, new HistoryBudget(1000))
    for (let i = 0; i < 5; i++) await log.append(draft(`m${i}`))
    expect((await log.replay(0, undefined)).entries.map((e) => e.body)).toEqual(['m3', 'm4'])
    expect(s.got.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5])
  })
})
