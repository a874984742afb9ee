/** Credentials that expire while connected: the room closes the member with 4001 at its expiry, on a fake clock. */
import { describe, expect, it } from 'vitest'
import { Room, memoryLogs, readConfig } from '../../src/index.ts'
import { present } from '../support/present.ts'
import { FakeClock, FakeConnection, flush } from './fakes.ts'

/** The fake clock, seen through `skew` ms of lateness (timers that have not run yet) and with its live timers counted. */
function setup() {
  const clock = new FakeClock()
  const live = new Set<unknown>()
  const view = {
    skew: 0,
    live,
    now: () => clock.now() + view.skew,
    setTimeout: (fn: () => void, ms: number) => {
      const id: unknown = clock.setTimeout(() => {
        live.delete(id)
        fn()
      }, ms)
      live.add(id)
      return id
    },
    clearTimeout: (id: unknown) => {
      live.delete(id)
      clock.clearTimeout(id)
    },
  }
  const config = readConfig({ PING_INTERVAL_MS: '60000' })
  const room = new Room('r', { config, logs: memoryLogs(config), clock: view })
  return { clock, view, room }
}

describe('Room: credentials that expire while connected', () => {
  it('closes each member with 4001 token_expired at its own expiry, without waiting for a sweep', () => {
    const { clock, room } = setup()
    const early = new FakeConnection()
    const late = new FakeConnection()
    const forever = new FakeConnection()
    room.join(early, { mode: 'json', exp: clock.now() + 1000 })
    room.join(late, { mode: 'raw', exp: clock.now() + 5000 })
    room.join(forever, { mode: 'raw' })
    clock.advance(999)
    expect(early.closedWith).toBeNull()
    clock.advance(1)
    expect(early.closedWith).toEqual({ code: 4001, reason: 'token_expired: credentials expired; reconnect with a new token' })
    expect(late.closedWith).toBeNull()
    clock.advance(4000)
    expect(late.closedWith?.code).toBe(4001)
    expect(forever.closedWith).toBeNull()
    expect(room.size).toBe(1)
  })

  it('re-arms for an earlier expiry that joins later, and closes a member already expired at once', () => {
    const { clock, room } = setup()
    const a = new FakeConnection()
    const b = new FakeConnection()
    const c = new FakeConnection()
    room.join(a, { mode: 'raw', exp: clock.now() + 10_000 })
    room.join(b, { mode: 'raw', exp: clock.now() + 2000 })
    room.join(c, { mode: 'raw', exp: clock.now() - 1 })
    clock.advance(0)
    expect(c.closedWith?.code).toBe(4001)
    clock.advance(2000)
    expect(b.closedWith?.code).toBe(4001)
    expect(a.closedWith).toBeNull()
    clock.advance(8000)
    expect(a.closedWith?.code).toBe(4001)
  })

  it('waits in steps no timer overflows for expiries weeks away', () => {
    const { clock, room } = setup()
    const m = new FakeConnection()
    const exp = clock.now() + 60 * 86_400_000
    room.join(m, { mode: 'raw', exp })
    clock.advance(59 * 86_400_000)
    expect(m.closedWith).toBeNull()
    clock.advance(86_400_000)
    expect(m.closedWith?.code).toBe(4001)
  })

  it('closes an expired member that sends a frame before the timer runs, and does not publish it', async () => {
    const { clock, view, room } = setup()
    const listener = new FakeConnection()
    const sender = new FakeConnection()
    room.join(listener, { mode: 'raw' })
    const m = present(room.join(sender, { mode: 'raw', exp: clock.now() + 1000 }), 'a member')
    await flush() // welcome settles
    view.skew = 1000 // the expiry is due, but its timer has not run yet
    room.receive(m, 'too late')
    expect(sender.closedWith?.code).toBe(4001)
    await flush()
    expect(listener.sent).toEqual([])
  })

  it('forgets the expiry timer when the room is disposed', () => {
    const { clock, view, room } = setup()
    const m = present(room.join(new FakeConnection(), { mode: 'raw', exp: clock.now() + 1000 }), 'a member')
    room.leave(m)
    room.dispose()
    expect(view.live.size).toBe(0)
  })
})
