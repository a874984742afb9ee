/** Credentials that expire while connected: the room closes the member with 4001 at its expiry, on a fake clock. */
import { describe, expect, it } from 'vitest'
import { Room, memoryLogs, readConfig } from '../../src/index.ts'
import type { Clock, Connection } from '../../src/index.ts'

/** A clock whose timers run only when the test advances it. */
class FakeClock implements Clock {
  t = 1_000_000
  private timers = new Map<number, { at: number; fn: () => void }>()
  private next = 1
  now = () => this.t
  setTimeout = (fn: () => void, ms: number) => {
    const id = this.next++
    this.timers.set(id, { at: this.t + ms, fn })
    return id
  }
  clearTimeout = (h: unknown) => void this.timers.delete(h as number)
  /** Move time forward, running due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms
    for (;;) {
      const due = [...this.timers.entries()].filter(([, x]) => x.at <= end).sort((a, b) => a[1].at - b[1].at)[0]
      if (due === undefined) break
      this.timers.delete(due[0])
      this.t = Math.max(this.t, due[1].at)
      due[1].fn()
    }
    this.t = end
  }
  get pending(): number {
    return this.timers.size
  }
}

/** A connection that records what the room does to it. */
function fakeConn(): Connection & { closed?: { code: number; reason: string }; sent: (string | Uint8Array)[] } {
  const c = {
    sent: [] as (string | Uint8Array)[],
    closed: undefined as { code: number; reason: string } | undefined,
    send: (d: string | Uint8Array) => void c.sent.push(d),
    close: (code: number, reason: string) => void (c.closed = { code, reason }),
  }
  return c
}

function setup() {
  const clock = new FakeClock()
  const config = readConfig({ PING_INTERVAL_MS: '60000' })
  const room = new Room('r', { config, logs: memoryLogs(config), clock })
  return { clock, room }
}

describe('Room: credentials that expire while connected', () => {
  it('closes each member with 4001 token_expired at its own expiry, without waiting for a sweep', () => {
    const { clock, room } = setup()
    const early = fakeConn()
    const late = fakeConn()
    const forever = fakeConn()
    room.join(early, { mode: 'json', exp: clock.t + 1000 })
    room.join(late, { mode: 'raw', exp: clock.t + 5000 })
    room.join(forever, { mode: 'raw' })
    clock.advance(999)
    expect(early.closed).toBeUndefined()
    clock.advance(1)
    expect(early.closed).toEqual({ code: 4001, reason: 'token_expired: credentials expired; reconnect with a new token' })
    expect(late.closed).toBeUndefined()
    clock.advance(4000)
    expect(late.closed?.code).toBe(4001)
    expect(forever.closed).toBeUndefined()
    expect(room.size).toBe(1)
  })

  it('re-arms for an earlier expiry that joins later, and closes a member already expired at once', () => {
    const { clock, room } = setup()
    const a = fakeConn()
    const b = fakeConn()
    const c = fakeConn()
    room.join(a, { mode: 'raw', exp: clock.t + 10_000 })
    room.join(b, { mode: 'raw', exp: clock.t + 2000 })
    room.join(c, { mode: 'raw', exp: clock.t - 1 })
    clock.advance(0)
    expect(c.closed?.code).toBe(4001)
    clock.advance(2000)
    expect(b.closed?.code).toBe(4001)
    expect(a.closed).toBeUndefined()
    clock.advance(8000)
    expect(a.closed?.code).toBe(4001)
  })

  it('waits in steps no timer overflows for expiries weeks away', () => {
    const { clock, room } = setup()
    const m = fakeConn()
    const exp = clock.t + 60 * 86_400_000
    room.join(m, { mode: 'raw', exp })
    clock.advance(59 * 86_400_000)
    expect(m.closed).toBeUndefined()
    clock.advance(86_400_000)
    expect(m.closed?.code).toBe(4001)
  })

  it('closes an expired member that sends a frame before the timer runs, and does not publish it', async () => {
    const { clock, room } = setup()
    const listener = fakeConn()
    const sender = fakeConn()
    room.join(listener, { mode: 'raw' })
    const m = room.join(sender, { mode: 'raw', exp: clock.t + 1000 })!
    await new Promise((r) => setTimeout(r, 0)) // welcome settles
    clock.t += 1000 // time passes, timers not yet run
    room.receive(m, 'too late')
    expect(sender.closed?.code).toBe(4001)
    await new Promise((r) => setTimeout(r, 0))
    expect(listener.sent).toEqual([])
  })

  it('forgets the expiry timer when the room is disposed', () => {
    const { clock, room } = setup()
    const m = room.join(fakeConn(), { mode: 'raw', exp: clock.t + 1000 })!
    room.leave(m)
    room.dispose()
    expect(clock.pending).toBe(0)
  })
})
