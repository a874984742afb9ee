/**
 * The Redis RoomLog against a real Redis, two backends in one process standing
 * in for two instances. Faults are injected by dropping a real connection.
 */
import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { RedisBackend } from '../../adapters/redis/index.ts'
import { roomKeys } from '../../adapters/redis/wire.ts'
import type { Entry, LogLimits, RoomLog } from '../../src/index.ts'
import { Unavailable } from '../../src/index.ts'
import { sleep, uniqueRoom } from '../support/client.ts'
import { REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.ts'

const HEARTBEAT = 100

/** What a room would see: delivered entries, lost() calls, presence changes. */
class Sink {
  entries: Entry[] = []
  lost = 0
  changes = 0
  deliver = (e: Entry) => void this.entries.push(e)
  membersChanged = () => void this.changes++
  onLost = () => void this.lost++
  asSink() {
    return { deliver: this.deliver, membersChanged: this.membersChanged, lost: this.onLost }
  }
  seqs() {
    return this.entries.map((e) => e.seq)
  }
}

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

const draft = (body: string) => ({ kind: 'text' as const, body, ts: 1 })
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i)

describe('RedisLog against a real Redis', () => {
  const prefix = uniquePrefix('log')
  const backends: RedisBackend[] = []
  let admin: Redis
  const backend = async (limits: LogLimits = { historyMessages: 1000, historyBytes: 1 << 20 }) => {
    const b = new RedisBackend({ url: REDIS_URL, prefix, limits, roomTtlMs: 60_000, heartbeatMs: HEARTBEAT, log: () => {} })
    backends.push(b)
    expect(await b.whenUp(5000)).toBe(true)
    return b
  }
  const open = async (b: RedisBackend, room: string) => {
    const sink = new Sink()
    const log = b.logs(room, sink.asSink()) as RoomLog
    if (log.ready === undefined) throw new Error('a Redis log has ready()')
    await log.ready()
    return { log, sink }
  }

  beforeAll(async () => {
    await requireRedis()
    admin = new Redis(REDIS_URL)
  })
  afterEach(async () => {
    await Promise.all(backends.splice(0).map((b) => b.close(200)))
  })
  afterAll(async () => {
    if (admin === undefined) return
    const keys = await admin.keys(`${prefix}*`)
    if (keys.length > 0) await admin.del(...keys)
    admin.disconnect()
  })

  it('answers head and join point the moment it is placed (no waiter left behind)', async () => {
    const b = await backend()
    const room = uniqueRoom()
    const sink = new Sink()
    const log = b.logs(room, sink.asSink())
    if (log.ready === undefined) throw new Error('a Redis log has ready()')
    await log.ready()
    const head = await Promise.race([log.head(), sleep(2000).then(() => 'hung')])
    expect(head).toMatchObject({ seq: 0 })
    expect(await log.joinPoint?.()).toEqual(head)
  })

  it('gives two instances one seq order when both append at once', async () => {
    const [x, y] = [await backend(), await backend()]
    const room = uniqueRoom()
    const [lx, ly] = [await open(x, room), await open(y, room)]
    const acks = await Promise.all(range(1, 100).map((i) => (i % 2 ? lx : ly).log.append(draft(`m${i}`))))
    expect([...acks].sort((a, b) => a - b)).toEqual(range(1, 100))
    await until('both delivered', () => lx.sink.entries.length === 100 && ly.sink.entries.length === 100)
    expect(lx.sink.seqs()).toEqual(range(1, 100))
    expect(ly.sink.entries.map((e) => e.body)).toEqual(lx.sink.entries.map((e) => e.body))
  })

  it('refuses appends while its connection is down, then fills what it missed from history, in order, without duplicates', async () => {
    const [x, y] = [await backend(), await backend()]
    const room = uniqueRoom()
    const [lx, ly] = [await open(x, room), await open(y, room)]
    for (const i of range(1, 5)) await lx.log.append(draft(`m${i}`))
    await until('y got 5', () => ly.sink.entries.length === 5)
    // Drop y's pub/sub connection (it reconnects by itself), and publish on x meanwhile.
    ;(y as unknown as { redis: { sub: Redis } }).redis.sub.disconnect(true)
    await until('y down', () => !y.up)
    await expect(ly.log.append(draft('refused'))).rejects.toBeInstanceOf(Unavailable)
    for (const i of range(6, 20)) await lx.log.append(draft(`m${i}`))
    await until('y back', () => y.up)
    await until('y caught up', () => ly.sink.entries.length >= 20)
    await lx.log.append(draft('m21'))
    await until('y live', () => ly.sink.entries.length >= 21)
    await sleep(3 * HEARTBEAT)
    expect(ly.sink.seqs()).toEqual(range(1, 21))
    expect(ly.sink.entries.some((e) => e.body === 'refused')).toBe(false)
    expect(ly.sink.lost).toBe(0)
  })

  it('replays only once this instance has delivered up to the replay, so a resuming member gets nothing twice', async () => {
    const [x, y] = [await backend(), await backend()]
    const room = uniqueRoom()
    const [lx, ly] = [await open(x, room), await open(y, room)]
    for (const i of range(1, 5)) await lx.log.append(draft(`m${i}`))
    await until('y got 5', () => ly.sink.entries.length === 5)
    // Hold y's pub/sub back (its socket stops reading), so 6..10 are in Redis but not yet delivered on y.
    const stream = (y as unknown as { redis: { sub: { stream: { pause(): void; resume(): void } } } }).redis.sub.stream
    stream.pause()
    for (const i of range(6, 10)) await lx.log.append(draft(`m${i}`))
    const r = await ly.log.replay(5, (await lx.log.head()).epoch)
    expect(r).toMatchObject({ seq: 10, complete: true })
    expect(r.entries.map((e) => e.seq)).toEqual(range(6, 10))
    // By the time the replay is handed over, y has delivered through 10 (from history), so the room can set them aside.
    expect(ly.sink.seqs()).toEqual(range(1, 10))
    stream.resume()
    await lx.log.append(draft('m11'))
    await until('live again', () => ly.sink.entries.length >= 11)
    await sleep(3 * HEARTBEAT)
    expect(ly.sink.seqs()).toEqual(range(1, 11))
  })

  it('says lost() when the room vanished from Redis, noticed by the next message or, in a quiet room, the heartbeat', async () => {
    const [x, y] = [await backend(), await backend()]
    const room = uniqueRoom()
    const [lx, ly] = [await open(x, room), await open(y, room)]
    await lx.log.append(draft('before'))
    await until('delivered', () => ly.sink.entries.length === 1)
    const epoch = (await lx.log.head()).epoch
    const k = roomKeys(prefix, room)
    await admin.del(k.meta, k.log)
    // Quiet room: only heartbeats run.
    await until('lost noticed by heartbeat', () => lx.sink.lost === 1 && ly.sink.lost === 1, 10 * HEARTBEAT + 2000)
    const head = await ly.log.head()
    expect(head.epoch).not.toBe(epoch)
    // Afterwards the new epoch flows normally.
    expect(await ly.log.append(draft('after'))).toBe(head.seq + 1)
    await until('new epoch delivered', () => lx.sink.entries.at(-1)?.body === 'after')
    // And once more, noticed by a message this time.
    await admin.del(k.meta, k.log)
    await lx.log.append(draft('again'))
    await until('lost noticed by message', () => ly.sink.lost === 2)
  })

  it('keeps history within historyMessages and historyBytes; a replay past it says complete:false', async () => {
    const x = await backend({ historyMessages: 5, historyBytes: 12 })
    const room = uniqueRoom()
    const { log } = await open(x, room)
    for (const i of range(1, 8)) await log.append(draft(`m${i}`))
    let r = await log.replay(0, undefined)
    // Five messages (10 bytes of the 12 allowed).
    expect(r.entries.map((e) => e.seq)).toEqual([4, 5, 6, 7, 8])
    r = await log.replay(4, r.epoch)
    expect(r).toMatchObject({ seq: 8, complete: true })
    expect(r.entries.map((e) => e.seq)).toEqual([5, 6, 7, 8])
    r = await log.replay(2, r.epoch)
    expect(r.complete).toBe(false)
    await log.append(draft('a much longer body'))
    r = await log.replay(8, r.epoch)
    // One body over the byte budget is not kept at all: its seq exists, history cannot replay it.
    expect(r).toMatchObject({ seq: 9, complete: false, entries: [] })
  })

  it('counts members on every instance, and drops an instance that stops heartbeating within 4 heartbeats', async () => {
    const [x, y] = [await backend(), await backend()]
    const room = uniqueRoom()
    const [lx, ly] = [await open(x, room), await open(y, room)]
    lx.log.members(3)
    ly.log.members(2)
    await until('y sees x', () => ly.log.members(2) === 5)
    await until('x sees y', () => lx.log.members(3) === 5)
    expect(ly.sink.changes).toBeGreaterThan(0)
    // x dies without a goodbye: its connections go, its heartbeat stops.
    const dead = x as unknown as { redis: { cmd: Redis; sub: Redis; closing: boolean }; timer: ReturnType<typeof setInterval>; closing: boolean }
    clearInterval(dead.timer)
    dead.closing = true
    dead.redis.closing = true
    dead.redis.cmd.disconnect()
    dead.redis.sub.disconnect()
    const started = Date.now()
    await until('x expired', () => ly.log.members(2) === 2, 4 * HEARTBEAT + 2000)
    expect(Date.now() - started).toBeLessThan(4 * HEARTBEAT + 500)
  })

  it('when Redis hands out a seq it delivered as another entry (a rollback), renames the room history and every instance resyncs', async () => {
    const [x, y] = [await backend(), await backend()]
    const room = uniqueRoom()
    const [lx, ly] = [await open(x, room), await open(y, room)]
    for (const body of ['one', 'two', 'three']) await lx.log.append(draft(body))
    await until('both delivered 3', () => lx.sink.entries.length === 3 && ly.sink.entries.length === 3)
    const { epoch } = await lx.log.head()
    // What a failover to a replica that missed the last write leaves: seq 3 and its entry gone, same epoch.
    const k = roomKeys(prefix, room)
    await admin.hincrby(k.meta, 'seq', -1)
    await admin.rpop(k.log)
    // The next publish gets seq 3 again, as another entry.
    expect(await ly.log.append({ kind: 'text', body: 'four', ts: 2 })).toBe(3)
    await until('both told they lost their place', () => lx.sink.lost > 0 && ly.sink.lost > 0)
    expect(await admin.hget(k.meta, 'epoch')).not.toBe(epoch)
    // Neither delivered the second seq 3 as if it were the first one's duplicate... or as a new entry at an old seq.
    for (const s of [lx.sink, ly.sink]) expect(s.seqs()).toEqual([1, 2, 3])
    // A member resuming from what it saw hears that history changed, and gets all of it.
    const r = await lx.log.replay(3, epoch)
    expect(r.complete).toBe(false)
    expect(r.entries.map((e) => e.body)).toEqual(['one', 'two', 'four'])
  })

  describe('appendOnce: the dedupe lookup inside the append script', () => {
    const once = (key: string, hash = '') => ({ key, hash })

    it('appends a key once across two instances racing with it; every answer names that one seq', async () => {
      const [x, y] = [await backend(), await backend()]
      const room = uniqueRoom()
      const [lx, ly] = [await open(x, room), await open(y, room)]
      const answers = await Promise.all(range(1, 20).map((i) => (i % 2 ? lx : ly).log.appendOnce(draft('same'), once('k'))))
      expect(answers.filter((a) => !a.duplicate)).toEqual([{ seq: 1, duplicate: false, mismatch: false }])
      expect(answers.every((a) => a.seq === 1)).toBe(true)
      expect(await lx.log.appendOnce(draft('other'), once('k2'))).toEqual({ seq: 2, duplicate: false, mismatch: false })
      await until('both delivered', () => lx.sink.entries.length === 2 && ly.sink.entries.length === 2)
      await sleep(100)
      expect(ly.sink.seqs()).toEqual([1, 2])
    })

    it('says mismatch for a key first appended with another hash', async () => {
      const { log } = await open(await backend(), uniqueRoom())
      await log.appendOnce(draft('a'), once('k', 'h1'))
      expect(await log.appendOnce(draft('b'), once('k', 'h2'))).toEqual({ seq: 1, duplicate: true, mismatch: true })
      expect(await log.appendOnce(draft('a'), once('k', 'h1'))).toEqual({ seq: 1, duplicate: true, mismatch: false })
    })

    it('forgets a key after the window (Redis time) and keeps at most dedupeMaxIds, the oldest going first', async () => {
      const b = await backend({ historyMessages: 1000, historyBytes: 1 << 20, dedupeWindowMs: 300, dedupeMaxIds: 3 })
      const room = uniqueRoom()
      const { log } = await open(b, room)
      await log.appendOnce(draft('a'), once('a'))
      expect((await log.appendOnce(draft('a'), once('a'))).duplicate).toBe(true)
      await sleep(400)
      expect(await log.appendOnce(draft('a'), once('a'))).toEqual({ seq: 2, duplicate: false, mismatch: false })
      for (const k of ['b', 'c', 'd']) await log.appendOnce(draft(k), once(k))
      const keys = roomKeys(prefix, room)
      expect(await admin.zcard(keys.idx)).toBe(3)
      expect(await admin.hlen(keys.ids)).toBe(3)
      expect((await log.appendOnce(draft('a'), once('a'))).duplicate).toBe(false)
      expect((await log.appendOnce(draft('d'), once('d'))).duplicate).toBe(true)
      // Expired or evicted keys leave no rows behind, and the keys expire with the room.
      expect(await admin.pttl(keys.ids)).toBeGreaterThan(0)
    })

    it("does not take a key from another epoch's history (the room's meta was lost) for a repeat", async () => {
      const b = await backend()
      const room = uniqueRoom()
      const { log } = await open(b, room)
      await log.appendOnce(draft('a'), once('k'))
      const keys = roomKeys(prefix, room)
      await admin.del(keys.meta, keys.log)
      const again = await log.appendOnce(draft('a'), once('k'))
      expect(again).toEqual({ seq: 1, duplicate: false, mismatch: false })
      expect((await admin.hget(keys.meta, 'epoch')) ?? '').not.toBe('')
    })

    it('writes no dedupe keys for appends without an id', async () => {
      const room = uniqueRoom()
      const { log } = await open(await backend(), room)
      await log.append(draft('plain'))
      const keys = roomKeys(prefix, room)
      expect(await admin.exists(keys.meta)).toBe(1)
      expect(await admin.exists(keys.ids, keys.idx)).toBe(0)
    })
  })
})
