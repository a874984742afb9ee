/**
 * SqlLog on a real SQLite. Node 20 has no built-in SQLite, so this file runs
 * under bun (bun:sqlite; `bun test` takes vitest's imports), started by
 * sql-log.test.ts. The same SQL runs in a Durable Object's ctx.storage.sql.
 */
import { Database } from 'bun:sqlite'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Draft, Entry, RoomSink, SqlStore } from '../../src/index.ts'
import { MemoryLog, SqlLog } from '../../src/index.ts'
import { present } from '../support/present.ts'

const store = (db: Database): SqlStore => ({ exec: (q, ...b) => db.query(q).all(...b) })
const noSink: RoomSink = { deliver: () => {}, membersChanged: () => {}, lost: () => {} }
const text = (body: string): Draft => ({ kind: 'text', body, ts: 1 })
const tables = (db: Database) =>
  db
    .query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    .all()
    .map((r) => r.name)
const seqs = (entries: Entry[]) => entries.map((e) => e.seq)

describe('SqlLog', () => {
  it('numbers from 1, delivers each entry in order and reports the head', async () => {
    const delivered: number[] = []
    const log = new SqlLog(store(new Database(':memory:')), { ...noSink, deliver: (e) => delivered.push(e.seq) }, { historyMessages: 10, historyBytes: 1000 })
    expect(await log.append(text('a'))).toBe(1)
    expect(await log.append(text('b'))).toBe(2)
    expect(delivered).toEqual([1, 2])
    expect((await log.head()).seq).toBe(2)
  })

  it('continues seq and keeps its epoch when opened again over the same database (a restart)', async () => {
    const db = new Database(':memory:')
    const limits = { historyMessages: 10, historyBytes: 1000 }
    const first = new SqlLog(store(db), noSink, limits)
    for (const b of ['a', 'b', 'c']) await first.append(text(b))
    const { epoch } = await first.head()
    const second = new SqlLog(store(db), noSink, limits)
    expect(await second.head()).toEqual({ seq: 3, epoch })
    expect(await second.append(text('d'))).toBe(4)
    const r = await second.replay(1, epoch)
    expect(r.entries.map((e) => [e.seq, e.body])).toEqual([
      [2, 'b'],
      [3, 'c'],
      [4, 'd'],
    ])
    expect(r.complete).toBe(true)
  })

  it('keeps at most historyMessages, also across a reopen', async () => {
    const db = new Database(':memory:')
    const limits = { historyMessages: 3, historyBytes: 1_000_000 }
    const log = new SqlLog(store(db), noSink, limits)
    for (let i = 0; i < 20; i++) await log.append(text('x'))
    expect(seqs((await log.replay(0, undefined)).entries)).toEqual([18, 19, 20])
    const again = new SqlLog(store(db), noSink, limits)
    await again.append(text('y'))
    const r = await again.replay(0, undefined)
    expect(seqs(r.entries)).toEqual([19, 20, 21])
    expect(r.complete).toBe(false)
    expect(db.query('SELECT COUNT(*) AS n FROM roomcast_log').all()[0]?.n).toBe(3)
  })

  it('keeps at most historyBytes of bodies, counting UTF-8 bytes', async () => {
    const log = new SqlLog(store(new Database(':memory:')), noSink, { historyMessages: 100, historyBytes: 10 })
    for (const body of ['aaaa', 'bbbb', 'cccc', 'é']) await log.append(text(body))
    expect((await log.replay(0, undefined)).entries.map((e) => e.body)).toEqual(['bbbb', 'cccc', 'é'])
  })

  it('does not keep an entry larger than historyBytes, but still numbers and delivers it', async () => {
    const delivered: string[] = []
    const log = new SqlLog(
      store(new Database(':memory:')),
      { ...noSink, deliver: (e) => delivered.push(e.body as string) },
      { historyMessages: 100, historyBytes: 4 },
    )
    await log.append(text('ok'))
    expect(await log.append(text('far too long'))).toBe(2)
    expect(delivered).toEqual(['ok', 'far too long'])
    const r = await log.replay(0, undefined)
    expect(r.entries).toEqual([])
    expect(r.complete).toBe(false)
  })

  it('replays everything, incomplete, to a client from another epoch', async () => {
    const log = new SqlLog(store(new Database(':memory:')), noSink, { historyMessages: 10, historyBytes: 1000 })
    for (const b of ['a', 'b', 'c']) await log.append(text(b))
    const r = await log.replay(2, 'someotherepoch')
    expect(seqs(r.entries)).toEqual([1, 2, 3])
    expect(r.complete).toBe(false)
  })

  it('round-trips binary, json and text entries with ts, from and origin', async () => {
    const log = new SqlLog(store(new Database(':memory:')), noSink, { historyMessages: 10, historyBytes: 1000 })
    await log.append({ kind: 'binary', body: new Uint8Array([0, 1, 255]), ts: 5 })
    await log.append({ kind: 'json', body: '{"a":[1,2]}', ts: 6, from: 'alice', origin: 'c-1' })
    await log.append({ kind: 'text', body: '日本語 👋', ts: 7 })
    const [bin, json, t] = (await log.replay(0, undefined)).entries
    expect(bin).toMatchObject({ seq: 1, kind: 'binary', ts: 5 })
    expect(Array.from(present(bin, 'the binary entry').body as Uint8Array)).toEqual([0, 1, 255])
    expect(json).toEqual({ seq: 2, kind: 'json', body: '{"a":[1,2]}', ts: 6, from: 'alice', origin: 'c-1' })
    expect(t).toMatchObject({ seq: 3, body: '日本語 👋' })
  })

  it('writes nothing when only asked (head, replay, no members); the first member keeps the epoch', async () => {
    const db = new Database(':memory:')
    const log = new SqlLog(store(db), noSink, { historyMessages: 10, historyBytes: 1000 })
    const { epoch } = await log.head()
    await log.replay(0, undefined)
    expect(log.members(0)).toBe(0)
    expect(tables(db)).toEqual([])
    expect(log.members(1)).toBe(1)
    expect(tables(db)).toEqual(['roomcast_log', 'roomcast_meta'])
    expect(await new SqlLog(store(db), noSink, { historyMessages: 10, historyBytes: 1000 }).head()).toEqual({ seq: 0, epoch })
  })

  it('keeps the same history as MemoryLog for any bodies and limits', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.string({ maxLength: 12, unit: 'grapheme' }), { maxLength: 40 }),
        fc.integer({ min: 1, max: 10 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 0, max: 45 }),
        async (bodies, historyMessages, historyBytes, since) => {
          const limits = { historyMessages, historyBytes }
          const sql = new SqlLog(store(new Database(':memory:')), noSink, limits)
          const mem = new MemoryLog(noSink, limits)
          for (const b of bodies) {
            await sql.append(text(b))
            await mem.append(text(b))
          }
          const [s, m] = [await sql.replay(since, undefined), await mem.replay(since, undefined)]
          expect(s.entries.map((e) => [e.seq, e.body])).toEqual(m.entries.map((e) => [e.seq, e.body]))
          expect(s.complete).toBe(m.complete)
          expect(s.seq).toBe(m.seq)
        },
      ),
      { numRuns: 200 },
    )
  })
})

describe('SqlLog.appendOnce', () => {
  const limits = { historyMessages: 100, historyBytes: 100_000, dedupeWindowMs: 1000, dedupeMaxIds: 3 }
  const k = (key: string, hash = '') => ({ key, hash })

  it('appends a key once; a repeat gets the first seq, delivers nothing and writes no entry', async () => {
    const delivered: number[] = []
    const db = new Database(':memory:')
    const log = new SqlLog(store(db), { ...noSink, deliver: (e) => delivered.push(e.seq) }, limits)
    expect(await log.appendOnce(text('a'), k('x'))).toEqual({ seq: 1, duplicate: false, mismatch: false })
    expect(await log.appendOnce(text('a'), k('x'))).toEqual({ seq: 1, duplicate: true, mismatch: false })
    expect(await log.appendOnce(text('a'), k('x', 'other'))).toEqual({ seq: 1, duplicate: true, mismatch: true })
    expect(await log.append(text('b'))).toBe(2)
    expect(delivered).toEqual([1, 2])
    expect(db.query('SELECT COUNT(*) AS n FROM roomcast_log').all()[0]?.n).toBe(2)
  })

  it('remembers keys across a reopen over the same database (eviction, restart)', async () => {
    const db = new Database(':memory:')
    await new SqlLog(store(db), noSink, limits).appendOnce(text('a'), k('x'))
    const again = new SqlLog(store(db), noSink, limits)
    expect(await again.appendOnce(text('a'), k('x'))).toEqual({ seq: 1, duplicate: true, mismatch: false })
    expect(await again.appendOnce(text('b'), k('y'))).toEqual({ seq: 2, duplicate: false, mismatch: false })
  })

  it('forgets a key at the end of its window, timed by the draft (the room clock)', async () => {
    const log = new SqlLog(store(new Database(':memory:')), noSink, limits)
    await log.appendOnce({ ...text('a'), ts: 10_000 }, k('x'))
    expect((await log.appendOnce({ ...text('a'), ts: 10_999 }, k('x'))).duplicate).toBe(true)
    expect(await log.appendOnce({ ...text('a'), ts: 11_000 }, k('x'))).toEqual({ seq: 2, duplicate: false, mismatch: false })
  })

  it('keeps at most dedupeMaxIds rows, the oldest forgotten first, also across a reopen', async () => {
    const db = new Database(':memory:')
    const log = new SqlLog(store(db), noSink, { ...limits, dedupeWindowMs: 1_000_000 })
    for (const [i, key] of ['a', 'b', 'c', 'd'].entries()) await log.appendOnce({ ...text(key), ts: i }, k(key))
    expect(db.query('SELECT COUNT(*) AS n FROM roomcast_dedupe').all()[0]?.n).toBe(3)
    const again = new SqlLog(store(db), noSink, { ...limits, dedupeWindowMs: 1_000_000 })
    await again.appendOnce({ ...text('e'), ts: 10 }, k('e'))
    expect(
      db
        .query('SELECT key FROM roomcast_dedupe ORDER BY expires')
        .all()
        .map((r) => r.key),
    ).toEqual(['c', 'd', 'e'])
    expect((await again.appendOnce({ ...text('a'), ts: 11 }, k('a'))).duplicate).toBe(false)
  })

  it('sweeps expired rows, so a steady stream of new ids keeps the table to the window', async () => {
    const db = new Database(':memory:')
    const log = new SqlLog(store(db), noSink, { ...limits, dedupeWindowMs: 100, dedupeMaxIds: 1000 })
    for (let t = 0; t < 5000; t += 10) await log.appendOnce({ ...text('m'), ts: t }, k(`id${t}`))
    // Swept at most once a second, of rows whose window ended.
    expect(Number(db.query('SELECT COUNT(*) AS n FROM roomcast_dedupe').all()[0]?.n)).toBeLessThanOrEqual(110)
  })

  it('creates the dedupe table only for the first publish with an id (a room from before has its log and no table)', async () => {
    const db = new Database(':memory:')
    const log = new SqlLog(store(db), noSink, limits)
    await log.append(text('a'))
    expect(tables(db)).toEqual(['roomcast_log', 'roomcast_meta'])
    await new SqlLog(store(db), noSink, limits).appendOnce(text('b'), k('x'))
    expect(tables(db)).toEqual(['roomcast_dedupe', 'roomcast_log', 'roomcast_meta'])
  })
})
