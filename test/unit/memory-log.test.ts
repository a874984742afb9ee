import { describe, expect, it } from 'vitest'
import { MemoryLog } from '../../src/index.ts'

const noSink = { deliver: () => {}, membersChanged: () => {}, lost: () => {} }

describe('MemoryLog', () => {
  it('numbers from 1 and delivers each entry in order', async () => {
    const delivered: number[] = []
    const log = new MemoryLog({ deliver: (e) => delivered.push(e.seq), membersChanged: () => {}, lost: () => {} }, { historyMessages: 10, historyBytes: 1000 })
    expect(await log.append({ kind: 'text', body: 'a', ts: 1 })).toBe(1)
    expect(await log.append({ kind: 'text', body: 'b', ts: 2 })).toBe(2)
    expect(delivered).toEqual([1, 2])
    expect((await log.head()).seq).toBe(2)
  })

  it('keeps at most historyMessages', async () => {
    const log = new MemoryLog(noSink, { historyMessages: 3, historyBytes: 1_000_000 })
    for (let i = 0; i < 2000; i++) await log.append({ kind: 'text', body: 'x', ts: 0 })
    const r = await log.replay(0, undefined)
    expect(r.entries.map((e) => e.seq)).toEqual([1998, 1999, 2000])
    expect(r.complete).toBe(false)
  })

  it('keeps at most historyBytes of bodies', async () => {
    const log = new MemoryLog(noSink, { historyMessages: 100, historyBytes: 10 })
    for (const body of ['aaaa', 'bbbb', 'cccc', 'é']) await log.append({ kind: 'text', body, ts: 0 })
    const r = await log.replay(0, undefined)
    expect(r.entries.map((e) => e.body)).toEqual(['bbbb', 'cccc', 'é'])
  })

  it('gives each log its own epoch', async () => {
    const a = new MemoryLog(noSink, { historyMessages: 1, historyBytes: 1 })
    const b = new MemoryLog(noSink, { historyMessages: 1, historyBytes: 1 })
    expect((await a.head()).epoch).not.toBe((await b.head()).epoch)
  })
})
