import { describe, expect, it } from 'vitest'
import { Hub } from '../../src/index.ts'
import { present } from '../support/present.ts'
import { FakeClock, FakeConnection, config, flush } from './fakes.ts'

describe('Hub', () => {
  it('keeps an empty room (and its history) for roomTtlMs, then drops it', async () => {
    const clock = new FakeClock()
    const hub = new Hub({ config: config({ roomTtlMs: 1000 }), clock })
    const room = hub.room('a')
    const m = present(room.join(new FakeConnection(), { mode: 'raw' }), 'a member')
    await flush()
    room.receive(m, 'x')
    room.leave(m)
    clock.advance(999)
    hub.sweep()
    expect(hub.room('a')).toBe(room)
    expect((await room.stats()).seq).toBe(1)
    clock.advance(1)
    hub.sweep()
    const fresh = hub.room('a')
    expect(fresh).not.toBe(room)
    expect((await fresh.stats()).seq).toBe(0)
  })

  it('counts connections across rooms and closes them all with 1001 on shutdown', async () => {
    const hub = new Hub({ config: config(), clock: new FakeClock() })
    const conns = [new FakeConnection(), new FakeConnection(), new FakeConnection()] as const
    hub.room('a').join(conns[0], { mode: 'raw' })
    hub.room('b').join(conns[1], { mode: 'json' })
    hub.room('b').join(conns[2], { mode: 'raw' })
    expect(hub.connections).toBe(3)
    hub.closeAll()
    expect(conns.map((c) => c.closedWith?.code)).toEqual([1001, 1001, 1001])
    expect(hub.connections).toBe(0)
  })
})

describe('Hub lookups', () => {
  it('peek does not create rooms', () => {
    const hub = new Hub({ config: config(), clock: new FakeClock() })
    expect(hub.peek('nobody')).toBeUndefined()
    expect(hub.peek('nobody')).toBeUndefined()
    const r = hub.room('somebody')
    expect(hub.peek('somebody')).toBe(r)
  })

  it('can open rooms up to MAX_ROOMS, and always the rooms it has; a swept room makes place', () => {
    const clock = new FakeClock()
    const hub = new Hub({ config: config({ maxRooms: 2, roomTtlMs: 1000 }), clock })
    hub.room('a')
    expect(hub.canOpen('b')).toBe(true)
    hub.room('b')
    expect(hub.canOpen('c')).toBe(false)
    expect(hub.canOpen('a')).toBe(true)
    clock.advance(1000)
    hub.sweep()
    expect(hub.canOpen('c')).toBe(true)
  })

  it('keeps the memory histories of all its rooms within HISTORY_TOTAL_BYTES', async () => {
    const hub = new Hub({ config: config({ historyTotalBytes: 1000 }), clock: new FakeClock() })
    for (let i = 0; i < 50; i++) await hub.room(`r${i}`).publish('text', 'x'.repeat(100))
    let kept = 0
    for (let i = 0; i < 50; i++) {
      const conn = new FakeConnection()
      const room = hub.room(`r${i}`)
      room.join(conn, { mode: 'raw', since: 0 })
      await flush()
      kept += conn.sent.length * 100
    }
    expect(kept).toBe(1000)
  })
})
