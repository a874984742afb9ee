/**
 * Node's batched, frame-once sender (adapters/node/sender.ts) with real
 * sockets: a ws server in this process, real ws clients, everything sent in
 * one event-loop turn.
 */
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import * as wsModule from 'ws'
import { WebSocket, WebSocketServer } from 'ws'
import { NodeConnection } from '../../adapters/node/sender.ts'
import { Room, memoryLogs, readConfig } from '../../src/index.ts'
import { at, present } from '../support/present.ts'

interface Client {
  ws: WebSocket
  got: (string | Buffer)[]
  closed: Promise<number>
}

interface Rig {
  server: WebSocketServer
  conns: NodeConnection[]
  clients: Client[]
}

const rigs: Rig[] = []
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** A ws server with `n` connected clients, each server-side socket wrapped in a NodeConnection. */
async function rig(n: number): Promise<Rig> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false })
  await new Promise((r) => server.once('listening', r))
  const port = (server.address() as AddressInfo).port
  const conns: NodeConnection[] = []
  server.on('connection', (ws) => conns.push(new NodeConnection(ws)))
  const clients: Client[] = []
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: false })
    const c: Client = { ws, got: [], closed: new Promise((r) => ws.once('close', (code) => r(code))) }
    ws.on('message', (data: Buffer, binary: boolean) => c.got.push(binary ? data : data.toString()))
    ws.on('error', () => {})
    await new Promise((r) => ws.once('open', r))
    clients.push(c)
  }
  while (conns.length < n) await sleep(5)
  // Server and client sockets pair up in connection order.
  const r = { server, conns, clients }
  rigs.push(r)
  return r
}

afterEach(async () => {
  for (const r of rigs.splice(0)) {
    for (const c of r.clients) c.ws.terminate()
    await new Promise((res) => r.server.close(res))
  }
  vi.restoreAllMocks()
})

/** Wait until `done()` or fail after `ms`. */
async function until(done: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(10)
  }
}

/** Message i: small, 16-bit length, 64-bit length and binary frames, so every header form is in the mix. */
function message(i: number): string | Uint8Array {
  if (i % 97 === 0) return `big ${i} ` + 'z'.repeat(70_000)
  if (i % 13 === 0) return new Uint8Array([i & 0xff, (i >> 8) & 0xff, 1, 2, 3])
  if (i % 7 === 0) return `mid ${i} ` + 'é'.repeat(150)
  return `m${i}`
}

function expectPrefix(got: (string | Buffer)[], count: number): void {
  expect(got.length).toBe(count)
  for (let i = 0; i < count; i++) {
    const want = message(i)
    if (typeof want === 'string') expect(got[i]).toBe(want)
    else expect(Buffer.compare(got[i] as Buffer, Buffer.from(want))).toBe(0)
  }
}

describe('Node batched sender', () => {
  it('keeps every member in order and loses nothing when many broadcasts go out in one turn, interleaved with closes', async () => {
    const { conns, clients } = await rig(30)
    const frame = vi.spyOn((wsModule as unknown as { Sender: { frame: (...a: unknown[]) => unknown } }).Sender, 'frame')
    const total = 400
    for (let i = 0; i < total; i++) {
      const m = message(i)
      if (i === 100) for (const c of conns.slice(0, 5)) c.close(1000, 'bye') // a close frame after exactly 100 messages
      if (i === 150) for (const c of conns.slice(5, 10)) c.ws.terminate() // gone mid-turn, unsent bytes and all
      if (i === 200) for (const c of conns.slice(10)) c.ping() // a control frame of ws's own, in the middle
      for (const c of conns) c.send(m)
    }
    // Still inside the turn: what every live member got since the last 70 KiB message is held for the end of the turn.
    for (const c of conns.slice(10)) expect(c.held).toBeGreaterThan(0)
    // One frame per broadcast, not one per recipient (ws's own close and ping frames aside).
    const dataFrames = frame.mock.calls.filter(([, o]) => (o as { opcode: number }).opcode <= 2)
    expect(dataFrames.length).toBe(total)

    await until(() => clients.slice(10).every((c) => c.got.length === total), 'every live member to get everything')
    for (const c of conns.slice(10)) expect(c.held).toBe(0)
    for (const c of clients.slice(10)) expectPrefix(c.got, total)
    for (const c of clients.slice(0, 5)) {
      expect(await c.closed).toBe(1000)
      expectPrefix(c.got, 100)
    }
    for (const c of clients.slice(5, 10)) {
      expect(await c.closed).toBe(1006)
      // Terminated mid-turn: whatever arrived is an in-order prefix, without duplicates.
      expectPrefix(c.got, c.got.length)
      expect(c.got.length).toBeLessThanOrEqual(150)
    }
  })

  it('counts corked bytes in bufferedAmount, so a reader that stops is still seen', async () => {
    const { conns, clients } = await rig(1)
    const conn = at(conns, 0)
    pause(at(clients, 0))
    const chunk = 'y'.repeat(64 * 1024)
    const total = 200 * chunk.length
    for (let i = 0; i < 200; i++) conn.send(chunk)
    // The kernel takes a few hundred KiB at most from a connection whose reader stopped; the rest is counted.
    expect(conn.bufferedAmount()).toBeGreaterThan(total / 2)
    await sleep(200)
    expect(conn.bufferedAmount()).toBeGreaterThan(total / 2)
  })

  it('closes a slow consumer with 1013 from a batched room, and the others get everything in order', async () => {
    const { conns, clients } = await rig(3)
    const config = readConfig({ MAX_BUFFERED_BYTES: String(1024 * 1024), RATE_LIMIT: '100000', RATE_BURST: '100000' })
    const room = new Room('batch', { config, logs: memoryLogs(config) })
    await room.ready()
    const members = conns.map((c) => present(room.join(c, { mode: 'raw' }), 'a member'))
    await until(() => members.every((m) => m.live), 'welcomes')
    const [slow, sender] = [at(members, 0), at(members, 1)]
    pause(at(clients, 0))
    const chunk = (i: number) => `${String(i).padStart(4, '0')}:` + 'q'.repeat(60 * 1024)
    // Ten 60 KiB publishes per turn until the stopped reader is closed; the others read between turns.
    let sent = 0
    while (!slow.closed && sent < 1000) {
      for (let k = 0; k < 10; k++) room.receive(sender, chunk(sent++))
      await new Promise((r) => setImmediate(r))
    }
    expect(slow.closed).toBe(true)
    expect(room.size).toBe(2)
    resume(at(clients, 0))
    expect(await at(clients, 0).closed).toBe(1013)
    await until(() => clients.slice(1).every((c) => c.got.length === sent), 'the others to get everything', 30_000)
    for (const c of clients.slice(1)) for (let i = 0; i < sent; i++) expect(c.got[i]).toBe(chunk(i))
  }, 60_000)

  it('closes no member when one turn sends it more than MAX_BUFFERED_BYTES that the kernel can take', async () => {
    const { conns, clients } = await rig(3)
    const config = readConfig({ MAX_BUFFERED_BYTES: String(1024 * 1024), RATE_LIMIT: '100000', RATE_BURST: '100000' })
    const room = new Room('burst', { config, logs: memoryLogs(config) })
    await room.ready()
    const members = conns.map((c) => present(room.join(c, { mode: 'raw' }), 'a member'))
    await until(() => members.every((m) => m.live), 'welcomes')
    // 2.5 MiB in one turn: loopback takes that much at once (ws alone would leave it nearly all written), so
    // holding it all corked until the end of the turn must not make a reader look slow.
    const frames = Array.from({ length: 44 }, (_, i) => `${String(i).padStart(2, '0')}` + 'b'.repeat(60 * 1024))
    for (const f of frames) room.receive(at(members, 0), f)
    expect(members.map((m) => m.closed)).toEqual([false, false, false])
    await until(() => clients.every((c) => c.got.length === frames.length), 'everything to arrive')
    for (const c of clients) expect(c.got).toEqual(frames)
  })
})

describe('Node batched sender: one write per recipient per turn', () => {
  it('writes each recipient once per turn, the same joined buffer to every recipient that got the same frames', async () => {
    const { conns, clients } = await rig(20)
    const writes = conns.map((c) => vi.spyOn(c.socket, 'write'))
    const total = 50
    for (let i = 0; i < total; i++) for (const c of conns) c.send(`turn ${i}`)
    // Nothing reaches a socket inside the turn; at its end, one write each, of one buffer shared by all.
    for (const w of writes) expect(w).not.toHaveBeenCalled()
    await new Promise((r) => setImmediate(r))
    for (const w of writes) expect(w).toHaveBeenCalledTimes(1)
    const first = at(writes, 0).mock.calls[0]?.[0]
    for (const w of writes) expect(w.mock.calls[0]?.[0]).toBe(first)
    await until(() => clients.every((c) => c.got.length === total), 'every member to get everything')
    for (const c of clients) expect(c.got).toEqual(Array.from({ length: total }, (_, i) => `turn ${i}`))
  })

  it('gives raw members, json members and a json publisher left out of its own messages each their own frames in one turn', async () => {
    const { conns, clients } = await rig(6)
    const config = readConfig({ RATE_LIMIT: '100000', RATE_BURST: '100000' })
    const room = new Room('mixed', { config, logs: memoryLogs(config) })
    await room.ready()
    // Raw and json members alternate in the room's order, so consecutive recipients never share a list.
    const modes = ['raw', 'json', 'raw', 'json', 'raw', 'json'] as const
    const members = conns.map((c, i) => present(room.join(c, { mode: at([...modes], i) }), 'a member'))
    await until(() => members.every((m) => m.live), 'welcomes')
    await sleep(50)
    for (const c of clients) c.got.length = 0
    const publisher = at(members, 1)
    const writes = conns.map((c) => vi.spyOn(c.socket, 'write'))
    const total = 30
    for (let i = 0; i < total; i++) room.receive(publisher, JSON.stringify({ type: 'publish', data: `m${i}` }))
    await new Promise((r) => setImmediate(r))
    // The publisher hears nothing of its own messages (no ids, so no acks); everyone else gets one write.
    for (const [i, w] of writes.entries()) expect(w).toHaveBeenCalledTimes(i === 1 ? 0 : 1)
    const data = (c: Client) => c.got.map((g) => JSON.parse(String(g)) as { type: string; data?: string }).filter((f) => f.type === 'message')
    await until(
      () => clients.every((c, i) => (i === 1 ? true : (modes[i] === 'raw' ? c.got.length : data(c).length) === total)),
      'every member to get everything',
    )
    const want = Array.from({ length: total }, (_, i) => `m${i}`)
    for (const [i, c] of clients.entries()) {
      if (modes[i] === 'raw') expect(c.got.map(String)).toEqual(want)
      else if (i === 1) expect(data(c)).toEqual([])
      else expect(data(c).map((f) => f.data)).toEqual(want)
    }
  })
})

function pause(c: Client): void {
  ;(c.ws as unknown as { _socket: { pause(): void } })._socket.pause()
}

function resume(c: Client): void {
  ;(c.ws as unknown as { _socket: { resume(): void } })._socket.resume()
}
