/**
 * The v2 client (RoomcastConnection) against a real Node server: many rooms
 * over one socket, per-subscription events, resume of every subscription after
 * a network drop, presence with identities, and the per-room transport behind
 * the same API.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WS from 'ws'
import type { ConnectionOptions, Subscription } from '../../src/client/index.ts'
import { RoomcastConnection } from '../../src/client/index.ts'
import type { MessageFrame } from '../../src/wire/frames.ts'
import { uniqueRoom } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'
import type { TcpProxy } from '../support/tcp-proxy.ts'
import { startProxy } from '../support/tcp-proxy.ts'
import { startNode, until } from './harness.ts'

let server: ServerHandle
const open: RoomcastConnection[] = []
const proxies: TcpProxy[] = []
/** Every socket the clients opened. */
const sockets: WS[] = []

class Counted extends WS {
  constructor(...args: ConstructorParameters<typeof WS>) {
    super(...args)
    sockets.push(this)
  }
}

beforeAll(async () => {
  server = await startNode({ PRESENCE_INTERVAL_MS: '20', PRESENCE_GRACE_MS: '300' })
})
afterAll(async () => {
  await server?.stop()
})
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()))
  await Promise.all(open.splice(0).map((c) => c.close()))
  sockets.length = 0
})

function connection(opts: Partial<ConnectionOptions> = {}): RoomcastConnection {
  const c = new RoomcastConnection({ url: server.ws, WebSocket: Counted as unknown as typeof WebSocket, initialDelayMs: 50, maxDelayMs: 200, ...opts })
  open.push(c)
  return c
}

function record(sub: Subscription): MessageFrame[] {
  const got: MessageFrame[] = []
  sub.on('message', (m) => got.push(m))
  return got
}

const subscribed = (sub: Subscription) => new Promise((resolve) => sub.on('subscribed', resolve))

describe('RoomcastConnection', () => {
  it('holds many rooms over one socket, each subscription with its own messages and publish', async () => {
    const [r1, r2] = [uniqueRoom(), uniqueRoom()]
    const a = connection()
    const b = connection()
    const a1 = a.subscribe(r1)
    const a2 = a.subscribe(r2)
    const b1 = b.subscribe(r1)
    const b2 = b.subscribe(r2)
    await Promise.all([a1, a2, b1, b2].map(subscribed))
    expect(await a.whichTransport()).toBe('v2')
    expect(sockets).toHaveLength(2)
    const [got1, got2, mine] = [record(b1), record(b2), record(a1)]
    expect(await a1.publish('one')).toBe(1)
    expect(await a2.publish({ two: 2 })).toBe(1)
    await until(() => got1.length === 1 && got2.length === 1, 'both rooms')
    expect(got1.map((m) => [m.room, m.data])).toEqual([[r1, 'one']])
    expect(got2.map((m) => [m.room, m.data])).toEqual([[r2, { two: 2 }]])
    expect(mine).toEqual([])
  })

  it('resumes every subscription from its own seq after a network drop', async () => {
    const [r1, r2] = [uniqueRoom(), uniqueRoom()]
    const px = await startProxy(server.port)
    proxies.push(px)
    const a = connection({ url: px.ws })
    const a1 = a.subscribe(r1)
    const a2 = a.subscribe(r2)
    const [got1, got2] = [record(a1), record(a2)]
    const w = connection()
    const w1 = w.subscribe(r1)
    const w2 = w.subscribe(r2)
    await Promise.all([a1, a2, w1, w2].map(subscribed))
    await w1.publish('r1-a')
    await until(() => got1.length === 1, 'the first message')
    px.drop(true)
    await until(() => a.state === 'reconnecting', 'the drop to be noticed')
    for (const d of ['r1-b', 'r1-c']) await w1.publish(d)
    for (const d of ['r2-a', 'r2-b', 'r2-c']) await w2.publish(d)
    px.restore()
    await until(() => got1.length === 3 && got2.length === 3, 'the missed messages of both rooms')
    expect(got1.map((m) => [m.seq, m.data])).toEqual([
      [1, 'r1-a'],
      [2, 'r1-b'],
      [3, 'r1-c'],
    ])
    expect(got2.map((m) => m.seq)).toEqual([1, 2, 3])
    expect(a1.lastSeq).toBe(3)
  })

  it('resends a publish whose ack was lost with the connection, under its id: it resolves once with the first seq', async () => {
    const room = uniqueRoom()
    const px = await startProxy(server.port)
    proxies.push(px)
    const a = connection({ url: px.ws })
    const w = connection()
    const ws = w.subscribe(room)
    const got = record(ws)
    const as = a.subscribe(room)
    await Promise.all([subscribed(as), subscribed(ws)])
    px.cut('toClient')
    const sent = as.publish('the ack gets lost')
    await until(() => got.length === 1, 'the watcher to receive it')
    px.drop()
    expect(await sent).toBe(1)
    // Queued while it reconnects, sent after the welcome.
    expect(await as.publish('next')).toBe(2)
    await until(() => got.length === 2, 'the next one')
    expect(got.map((m) => [m.seq, m.data])).toEqual([
      [1, 'the ack gets lost'],
      [2, 'next'],
    ])
    expect(a.clientKey).toMatch(/^[0-9a-f-]{32,36}$/)
  })

  it('keeps who is here per subscription, by sub, from the roster and its diffs', async () => {
    const room = uniqueRoom()
    const a = connection()
    const watch = a.subscribe(room, { presence: true })
    await subscribed(watch)
    const b = connection()
    b.subscribe(room)
    await until(() => watch.presence?.connections === 2, 'the second connection in presence')
    // No tokens here: both are anonymous, counted and never listed.
    expect(watch.presence?.members?.size).toBe(0)
  })

  it('stops a room at unsubscribe', async () => {
    const room = uniqueRoom()
    const a = connection()
    const sub = a.subscribe(room)
    const got = record(sub)
    const w = connection()
    const ws = w.subscribe(room)
    await Promise.all([subscribed(sub), subscribed(ws)])
    await sub.unsubscribe()
    await ws.publish('after')
    const other = a.subscribe(uniqueRoom())
    await subscribed(other)
    expect(got).toEqual([])
  })

  it('gives the same API over one v1 socket per room (the transport where the server refuses v2)', async () => {
    const [r1, r2] = [uniqueRoom(), uniqueRoom()]
    const a = connection({ transport: 'per-room' })
    const b = connection()
    const a1 = a.subscribe(r1)
    const a2 = a.subscribe(r2)
    const b1 = b.subscribe(r1)
    await Promise.all([a1, a2, b1].map(subscribed))
    expect(sockets.filter((s) => s.protocol === 'roomcast.v1')).toHaveLength(2)
    const got = record(a1)
    await b1.publish('to per-room')
    await until(() => got.length === 1, 'the message on the per-room transport')
    expect(got[0]).toMatchObject({ room: r1, data: 'to per-room' })
    expect(await a2.publish('x')).toBe(1)
  })

  it('gives each per-room v1 socket the connection’s client key, so its publish ids are deduplicated as the connection’s', async () => {
    const a = connection({ transport: 'per-room', clientKey: 'tab-7' })
    const [s1, s2] = [a.subscribe(uniqueRoom()), a.subscribe(uniqueRoom())]
    await Promise.all([s1, s2].map(subscribed))
    const v1 = sockets.filter((s) => s.protocol === 'roomcast.v1')
    expect(v1).toHaveLength(2)
    for (const s of v1) expect(new URL(s.url).searchParams.get('client')).toBe('tab-7')
  })
})

describe('RoomcastConnection, one v2 socket per room', () => {
  it('gives the same API, presence with identities included, over a v2 socket on each room’s URL', async () => {
    const [r1, r2] = [uniqueRoom(), uniqueRoom()]
    const a = connection({ transport: 'room-v2' })
    const b = connection()
    const a1 = a.subscribe(r1, { presence: true })
    const a2 = a.subscribe(r2)
    const b1 = b.subscribe(r1)
    await Promise.all([a1, a2, b1].map(subscribed))
    // One socket per room for a, each on its room's URL; one for b.
    const perRoom = sockets.filter((s) => s.protocol === 'roomcast.v2' && /\/rooms\//.test(s.url))
    expect(perRoom.map((s) => new URL(s.url).pathname).sort()).toEqual([`/rooms/${r1}`, `/rooms/${r2}`].sort())
    const got = record(a1)
    await b1.publish('to room-v2')
    await until(() => got.length === 1, 'the message on the room-v2 transport')
    expect(got[0]).toMatchObject({ room: r1, data: 'to room-v2' })
    expect(await a2.publish('x')).toBe(1)
    expect(await a.publish(r1, 'by room')).toBe(2)
    await until(() => a1.presence?.connections === 2, 'the count of both sockets')
    expect(a1.presence?.members).toBeInstanceOf(Map)
  })

  it('falls back to one v1 socket per room only where the room URL refuses v2 too (an older server)', async () => {
    const older: typeof fetch = async (input) => {
      const u = new URL(String(input))
      // What a server without v2 on room URLs answers both door checks (on / and on /rooms/:room): 400 bad_request.
      if (u.searchParams.get('protocol') === 'roomcast.v2') return new Response('{}', { status: 400, headers: { 'x-roomcast-error': 'bad_request' } })
      return fetch(input)
    }
    const asked: string[] = []
    const counting: typeof fetch = (input, init) => {
      asked.push(new URL(String(input)).pathname)
      return older(input, init)
    }
    const c = connection({ fetch: counting })
    expect(await c.whichTransport()).toBe('per-room')
    expect(asked.slice(0, 2)).toEqual(['/', '/rooms/roomcast-door-check'])
    const a = connection({ fetch: ((input: RequestInfo | URL) => (new URL(String(input)).pathname === '/' ? older(input) : fetch(input))) as typeof fetch })
    expect(await a.whichTransport()).toBe('room-v2')
  })
})
