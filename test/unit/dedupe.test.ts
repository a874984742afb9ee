/** Publish keys in memory: one append per key within the window, at most DEDUPE_MAX_IDS keys, and keys that cannot collide. */
import { describe, expect, it } from 'vitest'
import type { Draft, Entry, Once, RoomSink } from '../../src/index.ts'
import { DEDUPE_DEFAULTS, DedupeTable, MemoryLog, dedupeKey, defaults } from '../../src/index.ts'

const once = (key: string, hash = ''): Once => ({ key, hash })
const draft = (body: string, ts: number): Draft => ({ kind: 'text', body, ts })

function memoryLog(dedupeWindowMs = 1000, dedupeMaxIds = 100) {
  const delivered: Entry[] = []
  const sink: RoomSink = { deliver: (e) => delivered.push(e), membersChanged: () => {}, lost: () => {} }
  return { log: new MemoryLog(sink, { historyMessages: 1000, historyBytes: 1_000_000, dedupeWindowMs, dedupeMaxIds }), delivered }
}

describe('DedupeTable', () => {
  it('finds a key within the window and forgets it at the end of the window', () => {
    const t = new DedupeTable({ dedupeWindowMs: 100, dedupeMaxIds: 10 })
    t.remember(once('k'), 7, 1000)
    expect(t.find(once('k'), 1000)).toEqual({ seq: 7, duplicate: true, mismatch: false })
    expect(t.find(once('k'), 1099)).toEqual({ seq: 7, duplicate: true, mismatch: false })
    expect(t.find(once('k'), 1100)).toBeUndefined()
    expect(t.size).toBe(0)
  })

  it('says mismatch when the key was remembered with another hash', () => {
    const t = new DedupeTable({ dedupeWindowMs: 100, dedupeMaxIds: 10 })
    t.remember(once('k', 'h1'), 1, 0)
    expect(t.find(once('k', 'h2'), 1)).toEqual({ seq: 1, duplicate: true, mismatch: true })
  })

  it('keeps at most dedupeMaxIds keys, forgetting the oldest first', () => {
    const t = new DedupeTable({ dedupeWindowMs: 1_000_000, dedupeMaxIds: 3 })
    for (let i = 1; i <= 5; i++) t.remember(once(`k${i}`), i, i)
    expect(t.size).toBe(3)
    expect(t.find(once('k1'), 10)).toBeUndefined()
    expect(t.find(once('k2'), 10)).toBeUndefined()
    expect(t.find(once('k3'), 10)?.seq).toBe(3)
    expect(t.find(once('k5'), 10)?.seq).toBe(5)
  })

  it('moves a key taken again after its window to the end of the eviction order', () => {
    const t = new DedupeTable({ dedupeWindowMs: 10, dedupeMaxIds: 2 })
    t.remember(once('a'), 1, 0)
    t.remember(once('b'), 2, 5)
    // a's window ended at 10, so it is taken again at 12, after b.
    expect(t.find(once('a'), 12)).toBeUndefined()
    t.remember(once('a'), 3, 12)
    t.remember(once('c'), 4, 13)
    expect(t.find(once('a'), 13)?.seq).toBe(3)
    expect(t.find(once('c'), 13)?.seq).toBe(4)
    expect(t.find(once('b'), 13)).toBeUndefined()
  })
})

describe('dedupeKey', () => {
  it('cannot be spelt by another identity and id', () => {
    expect(dedupeKey('c:ab', 'c')).not.toBe(dedupeKey('c:a', 'bc'))
    expect(dedupeKey('s:x', 'y')).not.toBe(dedupeKey('c:x', 'y'))
  })

  it("falls back to config's defaults", () => {
    expect(DEDUPE_DEFAULTS).toEqual({ dedupeWindowMs: defaults.dedupeWindowMs, dedupeMaxIds: defaults.dedupeMaxIds })
  })
})

describe('MemoryLog.appendOnce', () => {
  it('appends and delivers a key once; a repeat gets the first seq and delivers nothing', async () => {
    const { log, delivered } = memoryLog()
    expect(await log.appendOnce(draft('a', 0), once('k'))).toEqual({ seq: 1, duplicate: false, mismatch: false })
    expect(await log.append(draft('b', 1))).toBe(2)
    expect(await log.appendOnce(draft('a again', 2), once('k'))).toEqual({ seq: 1, duplicate: true, mismatch: false })
    expect(await log.appendOnce(draft('c', 3), once('other'))).toEqual({ seq: 3, duplicate: false, mismatch: false })
    expect(delivered.map((e) => [e.seq, e.body])).toEqual([
      [1, 'a'],
      [2, 'b'],
      [3, 'c'],
    ])
    expect((await log.head()).seq).toBe(3)
  })

  it("times the window by the drafts' timestamps (the room's clock)", async () => {
    const { log, delivered } = memoryLog(1000)
    await log.appendOnce(draft('a', 5000), once('k'))
    expect((await log.appendOnce(draft('a', 5999), once('k'))).duplicate).toBe(true)
    expect(await log.appendOnce(draft('a', 6000), once('k'))).toEqual({ seq: 2, duplicate: false, mismatch: false })
    expect(delivered.length).toBe(2)
  })

  it('forgets the oldest keys past dedupeMaxIds', async () => {
    const { log } = memoryLog(1_000_000, 2)
    for (const k of ['a', 'b', 'c']) await log.appendOnce(draft(k, 1), once(k))
    expect((await log.appendOnce(draft('a', 2), once('a'))).duplicate).toBe(false)
    expect((await log.appendOnce(draft('c', 2), once('c'))).duplicate).toBe(true)
  })

  it('works with history limits alone, under the default window', async () => {
    const log = new MemoryLog({ deliver: () => {}, membersChanged: () => {}, lost: () => {} }, { historyMessages: 10, historyBytes: 1000 })
    await log.appendOnce(draft('a', 0), once('k'))
    expect((await log.appendOnce(draft('a', DEDUPE_DEFAULTS.dedupeWindowMs - 1), once('k'))).duplicate).toBe(true)
    expect((await log.appendOnce(draft('a', DEDUPE_DEFAULTS.dedupeWindowMs), once('k'))).duplicate).toBe(false)
  })
})
