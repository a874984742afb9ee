/**
 * RoomcastClient as the issue names it: `multiRoom: true` makes one client connection with many
 * subscriptions (`client.subscribe(room, {since?, presence?})`), over one RoomcastConnection that shares the
 * client's options, without a v1 socket of its own. Against a real Node server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import WS from 'ws'
import type { ClientOptions, StateChange, Subscription } from '../../src/client/index.ts'
import { RoomcastClient } from '../../src/client/index.ts'
import type { MessageFrame } from '../../src/wire/frames.ts'
import { uniqueRoom } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'
import type { TcpProxy } from '../support/tcp-proxy.ts'
import { startProxy } from '../support/tcp-proxy.ts'
import { startNode, until } from './harness.ts'

let server: ServerHandle
const open: RoomcastClient[] = []
const proxies: TcpProxy[] = []
/** Every socket the clients opened: its URL and subprotocols. */
const sockets: { url: string; protocols: string | string[] | undefined }[] = []

class Counted extends WS {
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols)
    sockets.push({ url, protocols })
  }
}

beforeAll(async () => {
  server = await startNode({ PRESENCE_INTERVAL_MS: '20' })
})
afterAll(async () => {
  await server?.stop()
})
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((p) => p.close()))
  await Promise.all(open.splice(0).map((c) => c.close()))
  sockets.length = 0
})

function client(opts: Partial<ClientOptions> = {}): RoomcastClient {
  const c = new RoomcastClient({
    url: server.ws,
    multiRoom: true,
    WebSocket: Counted as unknown as typeof WebSocket,
    initialDelayMs: 50,
    maxDelayMs: 200,
    ...opts,
  })
  open.push(c)
  return c
}

function record(sub: Subscription): MessageFrame[] {
  const got: MessageFrame[] = []
  sub.on('message', (m) => got.push(m))
  return got
}

const subscribed = (sub: Subscription) => new Promise((resolve) => sub.on('subscribed', resolve))

describe('RoomcastClient with multiRoom', () => {
  it('holds many rooms over one v2 socket and no v1 one: each subscription with its own messages and publish', async () => {
    const [r1, r2] = [uniqueRoom(), uniqueRoom()]
    const a = client({ clientKey: 'alice-key' })
    const states: StateChange[] = []
    a.on('state', (s) => states.push(s))
    const a1 = a.subscribe(r1)
    const a2 = a.subscribe(r2, { since: 0 })
    const b = client()
    const b1 = b.subscribe(r1)
    const b2 = b.subscribe(r2)
    await Promise.all([a1, a2, b1, b2].map(subscribed))
    expect(a.state).toBe('open')
    expect(states.map((s) => s.state)).toEqual(['open'])
    expect(await a.connection?.whichTransport()).toBe('v2')
    // One socket per client, each on the mount root with roomcast.v2, under the client's key.
    expect(sockets).toHaveLength(2)
    for (const s of sockets) {
      expect(new URL(s.url).pathname).toBe('/')
      expect(s.protocols).toBe('roomcast.v2')
    }
    expect(new URL(sockets[0]?.url as string).searchParams.get('client')).toBe('alice-key')
    expect(a.connection?.clientKey).toBe('alice-key')
    const [got1, got2] = [record(b1), record(b2)]
    expect(await a1.publish('one')).toBe(1)
    expect(await a2.publish({ two: 2 })).toBe(1)
    await until(() => got1.length === 1 && got2.length === 1, 'both rooms')
    expect(got1.map((m) => [m.room, m.data])).toEqual([[r1, 'one']])
    expect(got2.map((m) => [m.room, m.data])).toEqual([[r2, { two: 2 }]])
    // The client has no room of its own to publish to.
    await expect(a.publish('nowhere')).rejects.toMatchObject({ code: 'bad_data' })
    await a.close()
    expect(a.state).toBe('closed')
    expect(a.connection?.state).toBe('closed')
  })

  it('resumes every subscription from its own seq after a network drop, and sends the token on each connect', async () => {
    const [r1, r2] = [uniqueRoom(), uniqueRoom()]
    const px = await startProxy(server.port)
    proxies.push(px)
    let asked = 0
    const a = client({ url: px.ws, token: () => `t${++asked}` })
    const a1 = a.subscribe(r1)
    const a2 = a.subscribe(r2)
    const [got1, got2] = [record(a1), record(a2)]
    const w = client()
    const w1 = w.subscribe(r1)
    const w2 = w.subscribe(r2)
    await Promise.all([a1, a2, w1, w2].map(subscribed))
    await w1.publish('r1-a')
    await until(() => got1.length === 1, 'the first message')
    px.drop(true)
    await until(() => a.state === 'reconnecting', 'the drop to be noticed')
    for (const d of ['r1-b', 'r1-c']) await w1.publish(d)
    for (const d of ['r2-a', 'r2-b']) await w2.publish(d)
    px.restore()
    await until(() => got1.length === 3 && got2.length === 2, 'the missed messages of both rooms')
    expect(got1.map((m) => [m.seq, m.data])).toEqual([
      [1, 'r1-a'],
      [2, 'r1-b'],
      [3, 'r1-c'],
    ])
    expect(got2.map((m) => [m.seq, m.data])).toEqual([
      [1, 'r2-a'],
      [2, 'r2-b'],
    ])
    expect(a.state).toBe('open')
    // The token function was asked again for the second connect, and went as the second subprotocol entry.
    expect(asked).toBeGreaterThanOrEqual(2)
    expect(sockets.find((s) => s.url.startsWith(px.ws))?.protocols).toEqual(['roomcast.v2', 't1'])
  })

  it('keeps the v1 single-room client as it was, and says which is which', async () => {
    const room = uniqueRoom()
    expect(() => new RoomcastClient({ url: server.ws, multiRoom: true, room, WebSocket: Counted as unknown as typeof WebSocket })).toThrow(TypeError)
    const single = new RoomcastClient({ url: server.ws, room, WebSocket: Counted as unknown as typeof WebSocket })
    open.push(single)
    expect(single.connection).toBeUndefined()
    expect(() => single.subscribe(room)).toThrow(/multiRoom/)
    await until(() => single.state === 'open', 'the v1 client to open')
    expect(sockets.map((s) => new URL(s.url).pathname)).toEqual([`/rooms/${room}`])
    expect(await single.publish('v1 still')).toBe(1)
  })
})
