/** Json mode: the envelope protocol, sequence numbers, interop with raw members, presence. */
import { expect, it } from 'vitest'
import { ackOrder } from '../support/ack-order.ts'
import { connect, connectJson, uniqueRoom } from '../support/client.ts'
import { upgradeResponse } from '../support/raw-socket.ts'
import type { SuiteContext } from './suite.ts'

export function jsonScenarios(ctx: SuiteContext): void {
  const url = (room: string, q = '') => `${ctx.server.ws}/rooms/${room}${q}`

  it('welcomes a json member with room, connectionId, seq and epoch, and negotiates roomcast.v1', async () => {
    const room = uniqueRoom()
    const { client, welcome } = await connectJson(url(room))
    expect(client.ws.protocol).toBe('roomcast.v1')
    expect(welcome).toMatchObject({ type: 'welcome', room, seq: 0 })
    expect(typeof welcome.connectionId).toBe('string')
    expect(welcome.epoch).toMatch(/^[A-Za-z0-9_-]{1,64}$/)
    expect(welcome.resumed).toBeUndefined()
    await client.close()
  })

  it('delivers a publish as a message to others and an ack to the publisher, never the message itself', async () => {
    const room = uniqueRoom()
    const a = await connectJson(url(room))
    const b = await connectJson(url(room))
    const before = Date.now()
    a.client.send({ type: 'publish', data: { text: 'hi', n: [1, 2] }, id: 'm1' })
    const ack = await a.client.frame('ack')
    expect(ack).toEqual({ type: 'ack', id: 'm1', seq: 1 })
    const msg = await b.client.frame('message')
    expect(msg).toMatchObject({ type: 'message', room, seq: 1, data: { text: 'hi', n: [1, 2] } })
    expect(msg.ts).toBeGreaterThanOrEqual(before - 5000)
    expect(msg.ts).toBeLessThanOrEqual(Date.now() + 5000)
    a.client.send({ type: 'publish', data: 'no id' })
    expect(await b.client.frame('message')).toMatchObject({ seq: 2, data: 'no id' })
    const rest = (await a.client.drain()).map((r) => JSON.parse(r.data as string).type)
    expect(rest.filter((t) => t !== 'presence')).toEqual([])
    await Promise.all([a.client.close(), b.client.close()])
  })

  // However the runtime schedules its sockets' events (Deno hands over frames of several sockets before the
  // promise callbacks of the first run), the ack goes out in the step that delivers the entry.
  it('sends each publisher the ack for seq N before any message with a seq above N, with publishers interleaved', async () => {
    const publishers = 4
    const each = 20
    const heard = await ackOrder(url(uniqueRoom()), publishers, each)
    expect(heard).toEqual({ acks: publishers * each, late: 0, messages: publishers * (publishers - 1) * each })
  })

  it('ignores server-authoritative fields a client sends (seq, ts, room, from)', async () => {
    const room = uniqueRoom()
    const a = await connectJson(url(room))
    const b = await connectJson(url(room))
    a.client.send({ type: 'publish', data: 'x', seq: 999, ts: 1, room: 'elsewhere', from: 'mallory' })
    const msg = await b.client.frame('message')
    expect(msg.seq).toBe(1)
    expect(msg.room).toBe(room)
    expect(msg.ts).toBeGreaterThan(1)
    expect(msg.from).toBeUndefined()
    await Promise.all([a.client.close(), b.client.close()])
  })

  it('gives every member the same gap-free seq order under concurrent publishers', async () => {
    const room = uniqueRoom()
    const members = await Promise.all([1, 2, 3].map(() => connectJson(url(room))))
    const listener = await connectJson(url(room))
    const perPublisher = 40
    for (let i = 0; i < perPublisher; i++) for (const [p, m] of members.entries()) m.client.send({ type: 'publish', data: `${p}:${i}` })
    const got = await listener.client.frames('message', perPublisher * members.length, 15000)
    expect(got.map((f) => f.seq)).toEqual(Array.from({ length: got.length }, (_, i) => i + 1))
    // Each publisher's own messages arrive in the order it sent them.
    for (const p of [0, 1, 2]) {
      const mine = got.filter((f) => f.data.startsWith(`${p}:`)).map((f) => Number(f.data.split(':')[1]))
      expect(mine).toEqual(Array.from({ length: perPublisher }, (_, i) => i))
    }
    // Every publisher sees the others' messages in the same global order.
    for (const [p, m] of members.entries()) {
      const others = await m.client.frames('message', perPublisher * 2, 15000)
      expect(others.map((f) => f.seq)).toEqual(got.filter((f) => !f.data.startsWith(`${p}:`)).map((f) => f.seq))
    }
    await Promise.all([...members, listener].map((m) => m.client.close()))
  })

  it('interoperates: raw text reaches json members as data, json data reaches raw members as text', async () => {
    const room = uniqueRoom()
    const raw = await connect(url(room))
    const json = await connectJson(url(room))
    raw.send('plain words')
    expect(await raw.text()).toBe('plain words')
    expect(await json.client.frame('message')).toMatchObject({ seq: 1, data: 'plain words' })
    json.client.send({ type: 'publish', data: 'a string' })
    expect(await raw.text()).toBe('a string')
    json.client.send({ type: 'publish', data: { text: 'an object', n: 1 } })
    expect(JSON.parse(await raw.text())).toEqual({ text: 'an object', n: 1 })
    raw.send(Buffer.from([1, 2, 3]))
    expect((await raw.next()).binary).toBe(true)
    const bin = await json.client.frame('message')
    expect(bin).toMatchObject({ seq: 4, binary: true, data: Buffer.from([1, 2, 3]).toString('base64') })
    await Promise.all([raw.close(), json.client.close()])
  })

  it('echoes only roomcast.v1 as the subprotocol, never another offered entry such as a token', async () => {
    const path = `/rooms/${uniqueRoom()}`
    const cases: [string, string | undefined][] = [
      ['roomcast.v1, token.secret', 'roomcast.v1'],
      ['token.secret,roomcast.v1', 'roomcast.v1'],
      ['token.secret', undefined],
    ]
    for (const [offered, echoed] of cases) {
      const res = await upgradeResponse(ctx.server.port, path, { 'Sec-WebSocket-Protocol': offered })
      expect(res.status, offered).toBe(101)
      expect(res.headers['sec-websocket-protocol'], offered).toBe(echoed)
    }
    const { client } = await connectJson(url(uniqueRoom()), { protocols: ['roomcast.v1', 'token.secret'] })
    expect(client.ws.protocol).toBe('roomcast.v1')
    await client.close()
  })

  it('accepts json mode through ?protocol=roomcast.v1 where a client cannot set a subprotocol', async () => {
    const room = uniqueRoom()
    const c = await connect(url(room, '?protocol=roomcast.v1'))
    expect(await c.frame('welcome')).toMatchObject({ type: 'welcome', room })
    await c.close()
  })

  it('answers a json ping with a pong', async () => {
    const { client } = await connectJson(url(uniqueRoom()))
    client.send({ type: 'ping' })
    expect(await client.frame('pong')).toEqual({ type: 'pong' })
    await client.close()
  })

  it('tells json members the member count on join and leave', async () => {
    const room = uniqueRoom()
    const a = await connectJson(url(room))
    expect(await a.client.frame('presence', 5000, [])).toEqual({ type: 'presence', room, connections: 1 })
    const b = await connect(url(room))
    expect(await a.client.frame('presence', 5000, [])).toMatchObject({ connections: 2 })
    await b.close()
    expect(await a.client.frame('presence', 5000, [])).toMatchObject({ connections: 1 })
    await a.client.close()
  })
}
