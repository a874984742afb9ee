import { describe, expect, it } from 'vitest'
import type { Config, Grant, Hooks } from '../../src/index.ts'
import { Hub, Session } from '../../src/index.ts'
import { FakeClock, FakeConnection, config, flush } from './fakes.ts'

function setup(overrides: Partial<Config> = {}, hooks: Hooks = {}) {
  const clock = new FakeClock()
  const hub = new Hub({ config: config({ presenceIntervalMs: 50, ...overrides }), clock, hooks })
  const open = (grant?: Grant) => {
    const conn = new FakeConnection()
    const session = new Session(hub, conn, grant, clock)
    session.open()
    const send = (frame: object) => session.receive(JSON.stringify(frame))
    return { conn, session, send }
  }
  return { clock, hub, open }
}

describe('a protocol v2 session', () => {
  it('welcomes, subscribes to many rooms, and gets each room’s messages with the room named', async () => {
    const { open } = setup()
    const a = open()
    const b = open()
    expect(a.conn.frames()[0]).toMatchObject({ type: 'welcome', protocol: 'roomcast.v2' })
    for (const room of ['r1', 'r2', 'r3']) a.send({ type: 'subscribe', room, id: room })
    await flush()
    expect(a.conn.ofType('subscribed').map((f) => [f.room, f.id, f.seq])).toEqual([
      ['r1', 'r1', 0],
      ['r2', 'r2', 0],
      ['r3', 'r3', 0],
    ])
    b.send({ type: 'publish', room: 'r2', data: 'x', id: 'p' })
    b.send({ type: 'publish', room: 'r3', data: { n: 1 } })
    await flush()
    expect(b.conn.ofType('ack')).toEqual([{ type: 'ack', id: 'p', room: 'r2', seq: 1 }])
    expect(a.conn.ofType('message').map((f) => [f.room, f.seq, f.data])).toEqual([
      ['r2', 1, 'x'],
      ['r3', 1, { n: 1 }],
    ])
  })

  it('does not echo a publish to the publisher’s own subscription, and shares v1’s encoding with a v1 member', async () => {
    const { open, hub } = setup()
    const v1 = new FakeConnection()
    hub.room('r').join(v1, { mode: 'json' })
    const a = open()
    const b = open()
    a.send({ type: 'subscribe', room: 'r' })
    b.send({ type: 'subscribe', room: 'r' })
    await flush()
    a.send({ type: 'publish', room: 'r', data: 'hi', id: '1' })
    await flush()
    expect(a.conn.ofType('message')).toEqual([])
    const toB = b.conn.sent.at(-1)
    expect(toB).toBe(v1.sent.at(-1))
    expect(JSON.parse(toB as string)).toMatchObject({ type: 'message', room: 'r', data: 'hi' })
  })

  it('sends nothing of a room after unsubscribed', async () => {
    const { open } = setup()
    const a = open()
    const b = open()
    a.send({ type: 'subscribe', room: 'r' })
    await flush()
    a.send({ type: 'unsubscribe', room: 'r', id: 'u' })
    b.send({ type: 'publish', room: 'r', data: 'late' })
    await flush()
    const frames = a.conn.frames()
    expect(frames.at(-1)).toEqual({ type: 'unsubscribed', room: 'r', id: 'u' })
    expect(frames.filter((f) => f.type === 'message')).toEqual([])
  })

  it('refuses a second subscription to one room, past MAX_SUBSCRIPTIONS, and outside the token’s rooms, keeping the connection', async () => {
    const { open } = setup({ maxSubscriptions: 2 })
    const a = open({ rooms: ['ok*'], pub: false, exp: Date.now() + 3_600_000, sub: 'ann' })
    a.send({ type: 'subscribe', room: 'ok1' })
    a.send({ type: 'subscribe', room: 'ok1', id: 'again' })
    a.send({ type: 'subscribe', room: 'ok2' })
    a.send({ type: 'subscribe', room: 'ok3', id: 'third' })
    a.send({ type: 'subscribe', room: 'secret', id: 's' })
    a.send({ type: 'publish', room: 'ok1', data: 'x', id: 'p' })
    await flush()
    expect(a.conn.ofType('error').map((f) => [f.code, f.room, f.id])).toEqual([
      ['already_subscribed', 'ok1', 'again'],
      ['too_many_subscriptions', 'ok3', 'third'],
      ['forbidden', 'secret', 's'],
      ['forbidden', 'ok1', 'p'],
    ])
    expect(a.conn.ofType('subscribed').map((f) => f.room)).toEqual(['ok1', 'ok2'])
    expect(a.conn.closedWith).toBeNull()
  })

  it('counts subscribes and publishes against one rate limit, and bad frames against one budget', async () => {
    const { open } = setup({ rateBurst: 2, rateLimit: 1, badFrameBudget: 2 })
    const a = open()
    a.send({ type: 'subscribe', room: 'a' })
    a.send({ type: 'publish', room: 'a', data: 1 })
    a.send({ type: 'subscribe', room: 'b', id: 'x' })
    await flush()
    expect(a.conn.ofType('error')).toEqual([expect.objectContaining({ code: 'rate_limited', room: 'b', id: 'x' })])
    for (let i = 0; i < 3; i++) a.session.receive('nope')
    expect(a.conn.closedWith?.code).toBe(1008)
    expect(a.conn.closedWith?.reason).toMatch(/^too_many_errors/)
  })

  it('closes the whole connection when one room finds it a slow consumer, and leaves every room', async () => {
    const { open, hub } = setup({ maxBufferedBytes: 10 })
    const a = open()
    const b = open()
    a.send({ type: 'subscribe', room: 'r1' })
    a.send({ type: 'subscribe', room: 'r2' })
    await flush()
    expect(hub.room('r2').size).toBe(1)
    a.conn.buffered = 100
    b.send({ type: 'publish', room: 'r1', data: 'x' })
    await flush()
    expect(a.conn.closedWith?.reason).toMatch(/^slow_consumer/)
    expect(hub.room('r1').size).toBe(0)
    expect(hub.room('r2').size).toBe(0)
    expect(hub.sessions.has(a.session)).toBe(false)
  })

  it('counts as one connection however many rooms it holds', async () => {
    const { open, hub } = setup()
    const a = open()
    for (const room of ['a', 'b', 'c']) a.send({ type: 'subscribe', room })
    await flush()
    expect(hub.connections).toBe(1)
  })

  it("runs the message hook on a v2 publish: a rejection is the application's code, with the room, and nobody receives it", async () => {
    const { open } = setup({}, { message: (m) => (m.data === 'spam' ? { reject: 'no_spam', message: 'not here' } : undefined) })
    const a = open()
    const b = open()
    b.send({ type: 'subscribe', room: 'r' })
    await flush()
    a.send({ type: 'publish', room: 'r', data: 'spam', id: 'x' })
    a.send({ type: 'publish', room: 'r', data: 'ham', id: 'y' })
    await flush()
    await flush()
    expect(a.conn.ofType('error')).toEqual([{ type: 'error', code: 'no_spam', message: 'not here', room: 'r', id: 'x' }])
    expect(a.conn.ofType('ack')).toEqual([{ type: 'ack', id: 'y', room: 'r', seq: 1 }])
    expect(b.conn.ofType('message').map((f) => f.data)).toEqual(['ham'])
  })

  it('refuses to open a room past MAX_ROOMS, by subscribe or publish, with too_many_rooms and the room', async () => {
    const { open } = setup({ maxRooms: 1 })
    const a = open()
    a.send({ type: 'subscribe', room: 'first' })
    a.send({ type: 'subscribe', room: 'second', id: 's' })
    a.send({ type: 'publish', room: 'third', data: 1, id: 'p' })
    a.send({ type: 'publish', room: 'first', data: 1, id: 'q' })
    await flush()
    expect(a.conn.ofType('error').map((f) => [f.code, f.room, f.id])).toEqual([
      ['too_many_rooms', 'second', 's'],
      ['too_many_rooms', 'third', 'p'],
    ])
    expect(a.conn.ofType('ack')).toEqual([{ type: 'ack', id: 'q', room: 'first', seq: 1 }])
  })

  it('is found idle by its own frames, not by each room: a talking connection stays however long its rooms are quiet', async () => {
    const { open, hub, clock } = setup({ idleTimeoutMs: 1000 })
    const a = open()
    a.send({ type: 'subscribe', room: 'quiet' })
    await flush()
    for (let t = 0; t < 5; t++) {
      clock.advance(400)
      a.send({ type: 'ping' })
      hub.sweep(clock.now())
    }
    expect(a.conn.closedWith).toBeNull()
    expect(hub.room('quiet').size).toBe(1)
    clock.advance(1500)
    hub.sweep(clock.now())
    expect(a.conn.closedWith?.reason).toMatch(/^idle_timeout/)
  })

  it('resumes a room from since and epoch', async () => {
    const { open } = setup()
    const a = open()
    const b = open()
    a.send({ type: 'subscribe', room: 'r' })
    await flush()
    const epoch = a.conn.ofType('subscribed')[0].epoch
    for (let i = 0; i < 4; i++) b.send({ type: 'publish', room: 'r', data: i })
    await flush()
    const c = open()
    c.send({ type: 'subscribe', room: 'r', since: 2, epoch, id: 's' })
    await flush()
    expect(c.conn.ofType('subscribed')[0]).toMatchObject({ seq: 4, epoch, resumed: { since: 2, complete: true } })
    expect(c.conn.ofType('message').map((f) => f.seq)).toEqual([3, 4])
  })
})
