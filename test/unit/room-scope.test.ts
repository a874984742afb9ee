/**
 * What a Durable Object needs of the core to hold protocol v2 on a room's URL: a session scoped to one room,
 * its snapshot and restore, a roster that persists through a RosterStore and is scheduled from outside, and
 * the idle reaper for a runtime that cannot ping.
 */
import { describe, expect, it } from 'vitest'
import type { Config, RosterSnapshot, RosterStore, SessionRooms, SessionState } from '../../src/index.ts'
import { Ops, Room, Session, memoryLogs } from '../../src/index.ts'
import { FakeClock, FakeConnection, config, flush } from './fakes.ts'

const HOUR = 3_600_000

/** One room as a Durable Object has it: its roster stored in `store`, its ticks scheduled by hand. */
function objectRoom(clock: FakeClock, store: RosterStore, cfg: Config) {
  const due: { at?: number } = {}
  const room = new Room('r', { config: cfg, logs: memoryLogs(cfg), clock, schedulePresence: (at) => (due.at = at), presenceStore: store })
  const rooms: SessionRooms = { config: cfg, room: () => room, canOpen: (n) => n === 'r', sessions: new Set(), ops: Ops.quiet() }
  /** Run the scheduled roster tick if it is due. */
  const tick = () => {
    if (due.at !== undefined && due.at <= clock.now()) {
      due.at = undefined
      room.presenceTick()
    }
  }
  return { room, rooms, due, tick }
}

function memoryStore(): RosterStore & { saved: RosterSnapshot | undefined } {
  const s = {
    saved: undefined as RosterSnapshot | undefined,
    load: () => (s.saved === undefined ? undefined : structuredClone(s.saved)),
    save: (snap: RosterSnapshot) => {
      s.saved = structuredClone(snap)
    },
  }
  return s
}

const grant = (sub: string) => ({ sub, rooms: ['r'], pub: true, exp: Date.now() + HOUR })

describe('a v2 session scoped to one room', () => {
  it('serves its room and refuses any other with wrong_room, naming its room; the socket stays', async () => {
    const clock = new FakeClock()
    const cfg = config({ presenceIntervalMs: 50 })
    const { rooms } = objectRoom(clock, memoryStore(), cfg)
    const conn = new FakeConnection()
    const s = new Session(rooms, conn, undefined, clock, undefined, undefined, { scope: 'r' })
    s.open()
    s.receive(JSON.stringify({ type: 'subscribe', room: 'other', id: 'a' }))
    s.receive(JSON.stringify({ type: 'publish', room: 'other', data: 1, id: 'b' }))
    s.receive(JSON.stringify({ type: 'subscribe', room: 'r', id: 'c' }))
    await flush()
    expect(conn.ofType('error')).toEqual([
      expect.objectContaining({ code: 'wrong_room', room: 'other', id: 'a', message: expect.stringContaining('"r"') }),
      expect.objectContaining({ code: 'wrong_room', room: 'other', id: 'b' }),
    ])
    expect(conn.ofType('subscribed')).toEqual([expect.objectContaining({ room: 'r', id: 'c' })])
    expect(conn.closedWith).toBeNull()
  })
})

describe('a scoped session’s snapshot', () => {
  it('keeps the authorize hook’s info once (a Durable Object attachment holds 2 KiB), and restores it', async () => {
    const clock = new FakeClock()
    const cfg = config()
    const { rooms } = objectRoom(clock, memoryStore(), cfg)
    const info = { name: 'x'.repeat(900) }
    const s = new Session(rooms, new FakeConnection(), grant('ann'), clock, undefined, undefined, { scope: 'r', info })
    s.open()
    expect(s.snapshot().info).toEqual(info)
    s.receive(JSON.stringify({ type: 'subscribe', room: 'r' }))
    await flush()
    const snap = s.snapshot()
    expect(snap.info).toBeUndefined()
    expect(snap.subs[0]?.member.info).toEqual(info)
    expect(JSON.stringify(snap).length).toBeLessThan(2048)
    const again = objectRoom(clock, memoryStore(), cfg)
    const restored = Session.restore(again.rooms, new FakeConnection(), snap, clock, clock.now())
    expect(restored.snapshot().subs[0]?.member.info).toEqual(info)
  })
})

describe('a roster kept through a RosterStore, its ticks scheduled from outside', () => {
  it('after a restart sends a leave due in the grace period once, and re-announces no one', async () => {
    const clock = new FakeClock()
    const cfg = config({ presenceIntervalMs: 50, presenceGraceMs: 3000 })
    const store = memoryStore()
    const first = objectRoom(clock, store, cfg)
    const saved = new Map<FakeConnection, SessionState>()
    const open = (sub: string, presence: boolean) => {
      const conn = new FakeConnection()
      const s = new Session(first.rooms, conn, grant(sub), clock, undefined, undefined, { scope: 'r', saved: (st) => saved.set(conn, st) })
      s.open()
      s.receive(JSON.stringify({ type: 'subscribe', room: 'r', presence }))
      return { conn, s }
    }
    const watcher = open('w', true)
    const ann = open('ann', false)
    await flush()
    clock.advance(50)
    first.tick()
    expect(watcher.conn.ofType('presence').at(-1)).toMatchObject({ joins: expect.arrayContaining([{ sub: 'ann', connections: 1 }]) })
    // ann goes; then the process goes, before her grace period ends.
    ann.s.socketClosed()
    expect(store.saved?.gone.map(([sub]) => sub)).toEqual(['ann'])
    const snapshot = saved.get(watcher.conn) as SessionState
    expect(snapshot).toMatchObject({ scope: 'r', subs: [{ room: 'r', presence: true, member: { from: 'w' } }] })

    // A new process: the watcher's socket restored from its snapshot, the roster from the store.
    clock.advance(1000)
    const second = objectRoom(clock, store, cfg)
    const conn = new FakeConnection()
    Session.restore(second.rooms, conn, snapshot, clock, clock.now())
    second.room.restored()
    expect(second.due.at).toBeGreaterThanOrEqual(1_000_000 + 50 + 3000)
    clock.advance(3000)
    second.tick()
    expect(conn.ofType('presence')).toEqual([{ type: 'presence', room: 'r', connections: 1, joins: [], leaves: [{ sub: 'ann' }] }])
    expect(second.room.presencePage(10)).toEqual({ room: 'r', connections: 1, members: [{ sub: 'w', connections: 1 }] })
    // The restored watcher is a member of its room again: it hears what is published.
    second.room.publish('text', 'after', 'x')
    await flush()
    expect(conn.ofType('message')).toEqual([expect.objectContaining({ room: 'r', data: 'after' })])
  })
})

describe('the idle reaper, for a runtime that cannot ping', () => {
  it('closes json members and v2 sessions heard from neither by a frame nor a keep-alive for IDLE_TIMEOUT_MS; raw ones stay', async () => {
    const clock = new FakeClock()
    const cfg = config({ idleTimeoutMs: 1000 })
    const lefts: { sub?: string; reason: string }[] = []
    const room = new Room('r', { config: cfg, logs: memoryLogs(cfg), clock, hooks: { left: (e) => void lefts.push({ reason: e.reason, sub: e.sub }) } })
    const rooms: SessionRooms = { config: cfg, room: () => room, canOpen: (n) => n === 'r', sessions: new Set(), ops: Ops.quiet() }
    const noPing = () => {
      const c = new FakeConnection() as FakeConnection & { heard?: number; heardAt?: () => number | undefined }
      ;(c as { ping?: unknown }).ping = undefined
      c.heardAt = () => c.heard
      return c
    }
    const [silent, pinging, raw] = [noPing(), noPing(), noPing()]
    room.join(silent, { mode: 'json', from: 'gone' })
    room.join(pinging, { mode: 'json' })
    room.join(raw, { mode: 'raw' })
    const v2 = noPing()
    const session = new Session(rooms, v2, undefined, clock, undefined, undefined, { scope: 'r' })
    session.open()
    await flush()
    clock.advance(800)
    pinging.heard = clock.now()
    expect(room.reapIdle(clock.now())).toBe(1_000_000 + 1001)
    clock.advance(400)
    const next = room.reapIdle(clock.now())
    expect(session.reapIdle(clock.now())).toBe(Infinity)
    expect(silent.closedWith).toEqual({ code: 1001, reason: expect.stringMatching(/^idle_timeout: /) })
    expect(v2.closedWith).toEqual({ code: 1001, reason: expect.stringMatching(/^idle_timeout: /) })
    expect(pinging.closedWith).toBeNull()
    expect(raw.closedWith).toBeNull()
    expect(next).toBe(pinging.heard + 1001)
    expect(room.size).toBe(2)
    await flush()
    expect(lefts).toContainEqual({ sub: 'gone', reason: 'idle_timeout' })
  })
})
